import pLimit from 'p-limit';
import { MAX_BATCH_GET, type Logger } from '@carebook/server';
import type { Channel, NotificationSender, OutgoingMessage } from '../channels/port';
import type { SkipReason } from '../feed/event-plan';
import type { Notification, NotificationsRepo, RetryPolicy } from '../notifications/repo';
import type { SendLookups } from './lookups';
import { prepareMessages, type SendableRow, type Step } from './prepare-message';
import { sentRecords } from './sent-records';

// The send job: the messages due together (a row per message and channel,
// graphile-worker's batch job: notifications/statements.ts), taken
// MAX_BATCH_GET at a time, each checked against booking right before it
// goes out, rendered from what booking and catalog say now
// (prepare-message.ts, batch reads for all the rows at once), handed to its
// channel's sender, and its outcome recorded. At most `sendConcurrency`
// messages of the whole process are with a provider and not yet recorded;
// the SENT records of the messages accepted together go in one statement
// (sent-records.ts).
// No transaction is open while booking, catalog or the provider is called.
// The address, the name and the text live only in the job's memory: the row
// and the logs hold ids.
//
// A crash between the provider's acceptance and its SENT record sends the message
// again on the retry: at-least-once, with the same Message-ID
// (messages/message-id.ts) so that the duplicate can be recognised.

/** The channels' senders; a channel without one is off (its messages are SKIPPED CHANNEL_DISABLED). */
export type ChannelSenders = Partial<Record<Channel, NotificationSender>>;

/** How one job ended, for logs and metrics. */
export type SendResult = 'sent' | 'skipped' | 'retry' | 'failed' | 'not-scheduled';

export interface SendDeps {
  repo: NotificationsRepo;
  lookups: SendLookups;
  senders: ChannelSenders;
  retry: RetryPolicy;
  /** Messages handed to providers and not yet recorded, at most, across all jobs: also the most a crash can duplicate. */
  sendConcurrency: number;
  log: Logger;
}

const MAX_ERROR_LENGTH = 500;

/** A provider's error fit to store: the recipient cut out (an SMTP server may quote the address), at most MAX_ERROR_LENGTH characters. */
export function storableError(error: string, recipient: string | undefined): string {
  const cleaned = recipient ? error.split(recipient).join('<recipient>') : error;
  return cleaned.slice(0, MAX_ERROR_LENGTH);
}

/** Records how a try ended, and logs it by ids: each returns the job's result. */
function outcomeRecorder(deps: SendDeps) {
  const { repo, retry, log } = deps;
  const recordSent = sentRecords(repo);
  return {
    /** One statement for all of `rows`, which share the reason. */
    async skipped(rows: readonly Notification[], reason: SkipReason): Promise<SendResult[]> {
      if (rows.length === 0) return [];
      const done = await repo.markSkipped(rows.map((row) => row.id), reason);
      for (const row of rows) log.info({ notificationId: row.id, appointmentId: row.appointmentId, reason }, 'notification skipped');
      return rows.map((row) => (done.has(row.id) ? 'skipped' : 'not-scheduled'));
    },

    async failed(row: Notification, error: string, retryable: boolean): Promise<SendResult> {
      const outcome = await repo.recordFailure(row.id, error, retryable, retry);
      const fields = { notificationId: row.id, channel: row.channel, error, attempts: 'attempts' in outcome ? outcome.attempts : undefined };
      if (outcome.kind === 'failed') log.error(fields, 'notification failed for good');
      else if (outcome.kind === 'retry') log.warn(fields, 'notification not sent; will retry');
      return outcome.kind === 'not-scheduled' ? 'not-scheduled' : outcome.kind;
    },

    async sent(row: Notification): Promise<SendResult> {
      if (!(await recordSent(row.id))) {
        // Skipped by the feed while it was being sent (a cancellation that raced it).
        log.warn({ notificationId: row.id }, 'notification sent, but it was no longer scheduled');
        return 'not-scheduled';
      }
      log.info({ notificationId: row.id, appointmentId: row.appointmentId, channel: row.channel, kind: row.kind }, 'notification sent');
      return 'sent';
    },
  };
}

/** Sends the messages of the rows `notificationIds` that are still SCHEDULED; a result per such row. */
export function messageDelivery(deps: SendDeps): (notificationIds: readonly string[]) => Promise<SendResult[]> {
  const record = outcomeRecorder(deps);
  const withProvider = pLimit(deps.sendConcurrency);

  const sendOrFail = async (row: SendableRow, prepared: Exclude<Step<OutgoingMessage>, { kind: 'skip' }>): Promise<SendResult> => {
    if (prepared.kind === 'fail') return record.failed(row, prepared.error, prepared.retryable);
    return withProvider(async () => {
      const outcome = await deps.senders[row.channel]!.send(prepared.value);
      if (!outcome.accepted) return record.failed(row, storableError(outcome.error, prepared.value.to), outcome.retryable);
      return record.sent(row);
    });
  };

  const deliverBatch = async (notificationIds: readonly string[]): Promise<SendResult[]> => {
    const rows = (await deps.repo.loadForSend(notificationIds)).filter((row) => row.status === 'scheduled');
    const enabled = rows.filter((row) => deps.senders[row.channel]);
    const prepared = enabled.length > 0 ? await prepareMessages(deps.lookups, enabled) : [];
    // Skips are recorded a statement per reason: a burst skips many rows alike (no phone, cancelled).
    const skips = new Map<SkipReason, SendableRow[]>([['CHANNEL_DISABLED', rows.filter((row) => !deps.senders[row.channel])]]);
    const sends: Promise<SendResult>[] = [];
    enabled.forEach((row, i) => {
      const step = prepared[i];
      if (step.kind !== 'skip') sends.push(sendOrFail(row, step));
      else if (skips.has(step.reason)) skips.get(step.reason)!.push(row);
      else skips.set(step.reason, [row]);
    });
    const results = await Promise.all([...[...skips].map(([reason, skipped]) => record.skipped(skipped, reason)), Promise.all(sends)]);
    return results.flat();
  };

  return async (notificationIds) => {
    const results: SendResult[] = [];
    for (let i = 0; i < notificationIds.length; i += MAX_BATCH_GET) results.push(...(await deliverBatch(notificationIds.slice(i, i + MAX_BATCH_GET))));
    return results;
  };
}
