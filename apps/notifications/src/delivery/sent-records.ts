import DataLoader from 'dataloader';
import { MAX_BATCH_GET } from '@carebook/server';
import type { NotificationsRepo } from '../notifications/repo';

// Group commit of SENT records: a message accepted by its provider waits
// for the one UPDATE that records it with the others accepted meanwhile.
// While a record is on its way to the database, the messages accepted in
// the meantime gather behind it, and go in one statement as soon as it is
// back (DataLoader's batchScheduleFn waits for the flush in flight). Under
// load a statement records several messages; alone, a message is recorded
// at once.
//
// The caller holds its send slot until its record is back, so the messages
// accepted and not recorded, the ones a crash sends again, are still at
// most the slots (send-notification.ts).

/** Records `id` as SENT, with whatever else is waiting; true if the row was SCHEDULED and is now SENT. */
export type RecordSent = (id: string) => Promise<boolean>;

export function sentRecords(repo: Pick<NotificationsRepo, 'markSent'>): RecordSent {
  let flushing: Promise<unknown> = Promise.resolve();
  const loader = new DataLoader<string, boolean>(
    (ids) => {
      const recorded = repo.markSent(ids).then((sent) => ids.map((id) => sent.has(id)));
      flushing = recorded.catch(() => undefined);
      return recorded;
    },
    { cache: false, maxBatchSize: MAX_BATCH_GET, batchScheduleFn: (dispatch) => void flushing.then(dispatch) },
  );
  return (id) => loader.load(id);
}
