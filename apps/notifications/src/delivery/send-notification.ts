import type { Logger } from '@carebook/server';
import type { Channel, NotificationSender } from '../channels/port';
import type { SkipReason } from '../feed/event-plan';
import type { Notification, NotificationsRepo, RetryPolicy } from '../notifications/repo';
import type { SendLookups } from './lookups';
import { prepareMessage } from './prepare-message';

// The send job: one message, checked against booking right before it goes
// out, rendered from what booking and catalog say now (prepare-message.ts),
// handed to its channel's sender, and its outcome recorded. No transaction is
// open while booking, catalog or the provider is called. The address, the
// name and the text live only in the job's memory: the row and the logs hold ids.
//
// A crash between the provider's acceptance and markSent sends the message
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
  return {
    async skipped(row: Notification, reason: SkipReason): Promise<SendResult> {
      const done = await repo.markSkipped(row.id, reason);
      log.info({ notificationId: row.id, appointmentId: row.appointmentId, reason }, 'notification skipped');
      return done ? 'skipped' : 'not-scheduled';
    },

    async failed(row: Notification, error: string, retryable: boolean): Promise<SendResult> {
      const outcome = await repo.recordFailure(row.id, error, retryable, retry);
      const fields = { notificationId: row.id, channel: row.channel, error, attempts: 'attempts' in outcome ? outcome.attempts : undefined };
      if (outcome.kind === 'failed') log.error(fields, 'notification failed for good');
      else if (outcome.kind === 'retry') log.warn(fields, 'notification not sent; will retry');
      return outcome.kind === 'not-scheduled' ? 'not-scheduled' : outcome.kind;
    },

    async sent(row: Notification): Promise<SendResult> {
      if (!(await repo.markSent(row.id))) {
        // Skipped by the feed while it was being sent (a cancellation that raced it).
        log.warn({ notificationId: row.id }, 'notification sent, but it was no longer scheduled');
        return 'not-scheduled';
      }
      log.info({ notificationId: row.id, appointmentId: row.appointmentId, channel: row.channel, kind: row.kind }, 'notification sent');
      return 'sent';
    },
  };
}

/** Sends the message `notificationId` if it is still SCHEDULED. */
export function notificationDelivery(deps: SendDeps): (notificationId: string) => Promise<SendResult> {
  const record = outcomeRecorder(deps);
  return async (notificationId) => {
    const row = await deps.repo.loadForSend(notificationId);
    if (!row || row.status !== 'scheduled') return 'not-scheduled';
    const sender = deps.senders[row.channel];
    if (!sender) return record.skipped(row, 'CHANNEL_DISABLED');

    const prepared = await prepareMessage(deps.lookups, row);
    if (prepared.kind === 'skip') return record.skipped(row, prepared.reason);
    if (prepared.kind === 'fail') return record.failed(row, prepared.error, prepared.retryable);

    const outcome = await sender.send(prepared.value);
    if (!outcome.accepted) return record.failed(row, storableError(outcome.error, prepared.value.to), outcome.retryable);
    return record.sent(row);
  };
}
