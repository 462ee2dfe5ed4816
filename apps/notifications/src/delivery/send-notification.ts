import type { Logger } from '@carebook/server';
import type { Channel, NotificationSender } from '../channels/port';
import type { SkipReason } from '../feed/event-plan';
import type { MessageFacts } from '../messages/facts';
import { messageIdOf } from '../messages/message-id';
import { renderMessage } from '../messages/render';
import type { Notification, NotificationsRepo, RetryPolicy } from '../notifications/repo';
import type { SendLookups } from './lookups';
import { appointmentSkipReason, recipientOf } from './send-time-check';

// The send job: one message, checked against booking right before it goes
// out, rendered from what booking and catalog say now, handed to its
// channel's sender, and its outcome recorded. No transaction is open while
// booking, catalog or the provider is called. The address, the name and the
// text live only in this function's memory: the row and the logs hold ids.
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

/** Sends the message `notificationId` if it is still SCHEDULED. */
export function notificationDelivery(deps: SendDeps): (notificationId: string) => Promise<SendResult> {
  const { repo, lookups, senders, retry } = deps;

  const skip = async (row: Notification, reason: SkipReason): Promise<SendResult> => {
    const done = await repo.markSkipped(row.id, reason);
    deps.log.info({ notificationId: row.id, appointmentId: row.appointmentId, reason }, 'notification skipped');
    return done ? 'skipped' : 'not-scheduled';
  };

  const fail = async (row: Notification, error: string, retryable: boolean): Promise<SendResult> => {
    const outcome = await repo.recordFailure(row.id, error, retryable, retry);
    const fields = { notificationId: row.id, channel: row.channel, error, attempts: 'attempts' in outcome ? outcome.attempts : undefined };
    if (outcome.kind === 'failed') deps.log.error(fields, 'notification failed for good');
    else if (outcome.kind === 'retry') deps.log.warn(fields, 'notification not sent; will retry');
    return outcome.kind === 'not-scheduled' ? 'not-scheduled' : outcome.kind;
  };

  return async (notificationId) => {
    const row = await repo.loadForSend(notificationId);
    if (!row || row.status !== 'scheduled') return 'not-scheduled';
    const sender = senders[row.channel];
    if (!sender) return skip(row, 'CHANNEL_DISABLED');

    const appointment = await lookups.appointment(row.appointmentId);
    if (appointment.kind === 'unavailable') return fail(row, `booking: ${appointment.error}`, true);
    if (appointment.kind === 'not-found') return skip(row, 'APPOINTMENT_NOT_BOOKED');
    const stale = appointmentSkipReason(row, appointment.value, row.databaseNow);
    if (stale) return skip(row, stale);

    const patient = await lookups.patient(row.patientId);
    if (patient.kind === 'unavailable') return fail(row, `booking: ${patient.error}`, true);
    if (patient.kind === 'not-found') return skip(row, 'NO_CONTACT');
    const recipient = recipientOf(patient.value, row.channel);
    if ('skip' in recipient) return skip(row, recipient.skip);

    const place = await lookups.place(appointment.value.doctorId, appointment.value.clinicId);
    if (place.kind === 'unavailable') return fail(row, `catalog: ${place.error}`, true);
    if (place.kind === 'not-found') return fail(row, 'catalog: the doctor or the clinic of the appointment does not exist', false);

    const { doctor, clinic } = place.value;
    const facts: MessageFacts = {
      kind: row.kind,
      appointmentId: row.appointmentId,
      patientName: patient.value.displayName,
      doctorName: doctor.displayName,
      clinicName: clinic.displayName,
      clinicAddress: clinic.address,
      clinicTimeZone: clinic.timeZone,
      startTime: row.appointmentStartTime,
      ...(row.previousStartTime && { previousStartTime: row.previousStartTime }),
      ...(row.kind === 'cancellation' && appointment.value.cancelReason && { cancelReason: appointment.value.cancelReason }),
      // The room as booking shows it now: made after the booking, so a
      // message sent before it exists goes without it (the reminders carry it).
      ...(appointment.value.consultation?.joinUrl && { joinUrl: appointment.value.consultation.joinUrl }),
    };
    const { subject, text } = renderMessage(facts, row.channel);
    const messageId = messageIdOf(row.appointmentId, row.kind, row.channel, row.reminderOffsetMs ?? undefined);
    const outcome = await sender.send({ channel: row.channel, to: recipient.to, messageId, subject, text });
    if (!outcome.accepted) return fail(row, storableError(outcome.error, recipient.to), outcome.retryable);
    if (!(await repo.markSent(row.id))) {
      // Skipped by the feed while it was being sent (a cancellation that raced it).
      deps.log.warn({ notificationId: row.id }, 'notification sent, but it was no longer scheduled');
      return 'not-scheduled';
    }
    deps.log.info({ notificationId: row.id, appointmentId: row.appointmentId, channel: row.channel, kind: row.kind }, 'notification sent');
    return 'sent';
  };
}
