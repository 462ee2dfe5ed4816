import type { Logger } from 'pino';
import type { BookingPrisma } from '../db';
import { eventsAfter } from '../events/repo';
import { markRoomsUnwanted, recordWantedRooms, type RoomValidity } from './repo';
import { roomPlanOf } from './room-plan';

// Reads booking's own appointment event feed from a durable cursor
// (appointment_event_cursor) and records what each event means for
// consultation rooms in the transaction that moves the cursor, under the
// cursor row's lock: a replay, a crash between two runs or a second replica
// changes nothing twice. The provider is called later, by the dispatcher,
// so a booking never waits for it or fails because of it.

export interface RecorderOptions extends RoomValidity {
  /** Events applied per transaction. */
  batchSize: number;
}

/** The cursor's row in appointment_event_cursor, made by the migration. */
export const CONSULTATIONS_CURSOR = 'consultations';

/** What one run did. */
export interface RecorderRun {
  /** Events applied. */
  applied: number;
  /** Rooms recorded as wanted or marked for revocation: work for the dispatcher. */
  changed: number;
}

/** The consultation rooms' consumer of the appointment event feed. */
export function consultationRecorder(prisma: BookingPrisma, log: Logger, options: RecorderOptions) {
  /** Applies the next batch after the cursor; nothing when another replica holds the cursor. */
  const applyBatch = (): Promise<RecorderRun> =>
    prisma.$transaction(async (tx) => {
      // SKIP LOCKED: a replica applying the feed now holds the row, and this
      // run would only wait to find the cursor moved past what it could read.
      const [cursor] = await tx.$queryRaw<{ position: bigint }[]>`
        SELECT position FROM appointment_event_cursor WHERE consumer = ${CONSULTATIONS_CURSOR} FOR UPDATE SKIP LOCKED`;
      if (!cursor) return { applied: 0, changed: 0 };
      const from = Number(cursor.position);
      const events = await eventsAfter(tx, from, options.batchSize);
      if (events.length === 0) return { applied: 0, changed: 0 };
      // Positions are dense; a jump means retention deleted events this
      // consumer never read (it was stopped for longer than the retention).
      if (events[0].position > from + 1) log.error({ from: from + 1, to: events[0].position - 1 }, 'consultation rooms: feed events lost to retention');
      const plan = roomPlanOf(events);
      const changed = (await recordWantedRooms(tx, plan.wanted, options)) + (await markRoomsUnwanted(tx, plan.unwanted));
      await tx.$executeRaw`
        UPDATE appointment_event_cursor SET position = ${events[events.length - 1].position}::bigint, update_time = now()
        WHERE consumer = ${CONSULTATIONS_CURSOR}`;
      return { applied: events.length, changed };
    });

  return {
    /** Applies every event after the cursor; returns how many rooms became work for the dispatcher. */
    async applyAll(): Promise<number> {
      let changed = 0;
      for (;;) {
        const run = await applyBatch();
        changed += run.changed;
        if (run.applied < options.batchSize) return changed;
      }
    },
  };
}

export type ConsultationRecorder = ReturnType<typeof consultationRecorder>;
