import type { Appointment } from '@carebook/proto/booking';
import { Modality, type Clinic, type Doctor } from '@carebook/proto/catalog';
import type { OutgoingMessage } from '../channels/port';
import type { SkipReason } from '../feed/event-plan';
import type { MessageFacts } from '../messages/facts';
import { messageIdOf } from '../messages/message-id';
import { renderMessage } from '../messages/render';
import type { Notification } from '../notifications/repo';
import type { SendLookups } from './lookups';
import { appointmentSkipReason, recipientOf } from './send-time-check';

// The message a SCHEDULED row stands for, made from what booking and catalog
// say now, in three asks: is the appointment still as the row says, where
// does the message go, and what are the doctor and the clinic. Each ask ends
// the preparation with a skip (nothing to send, for good) or a failure (try
// again, or not) as a value; the send job records it.

/** Why a message will not go out now: it must not at all (skip), or something it needs failed. */
type Stop = { kind: 'skip'; reason: SkipReason } | { kind: 'fail'; error: string; retryable: boolean };

/** One ask's answer: what it found, or why the preparation stops. */
type Step<T> = { kind: 'ok'; value: T } | Stop;

/** The row as the send job read it, with the database's clock at that moment. */
export type SendableRow = Notification & { databaseNow: Date };

const ok = <T>(value: T): Step<T> => ({ kind: 'ok', value });
const skip = (reason: SkipReason): Stop => ({ kind: 'skip', reason });
const retry = (error: string): Stop => ({ kind: 'fail', error, retryable: true });

/** The appointment as booking has it, if the message is still wanted for it (send-time-check.ts). */
async function appointmentStillDue(lookups: SendLookups, row: SendableRow): Promise<Step<Appointment>> {
  const appointment = await lookups.appointment(row.appointmentId);
  if (appointment.kind === 'unavailable') return retry(`booking: ${appointment.error}`);
  if (appointment.kind === 'not-found') return skip('APPOINTMENT_NOT_BOOKED');
  const stale = appointmentSkipReason(row, appointment.value, row.databaseNow);
  return stale ? skip(stale) : ok(appointment.value);
}

/**
 * Tries that a message about a video appointment waits for its room, so as
 * to carry the link: 1 s, 2 s and 4 s or so (retry-policy.ts). booking makes
 * the room from the same feed event, normally within milliseconds; while
 * the video provider fails, the message goes without the link after these.
 */
const ROOM_WAIT_ATTEMPTS = 3;

/** Why the message waits for the appointment's consultation room, if it does. */
function roomPending(row: SendableRow, appointment: Appointment): Stop | undefined {
  const waits = appointment.modality === Modality.MODALITY_VIDEO && row.kind !== 'cancellation' && !appointment.consultation?.joinUrl;
  return waits && row.attempts < ROOM_WAIT_ATTEMPTS ? retry('booking: the video consultation room is not made yet') : undefined;
}

/** The patient's name and address on the row's channel, if they have one and consent. */
async function recipient(lookups: SendLookups, row: SendableRow): Promise<Step<{ name: string; to: string }>> {
  const patient = await lookups.patient(row.patientId);
  if (patient.kind === 'unavailable') return retry(`booking: ${patient.error}`);
  if (patient.kind === 'not-found') return skip('NO_CONTACT');
  const address = recipientOf(patient.value, row.channel);
  return 'skip' in address ? skip(address.skip) : ok({ name: patient.value.displayName, to: address.to });
}

/** The appointment's doctor and clinic from catalog; their absence is a failure no retry mends. */
async function place(lookups: SendLookups, appointment: Appointment): Promise<Step<{ doctor: Doctor; clinic: Clinic }>> {
  const found = await lookups.place(appointment.doctorId, appointment.clinicId);
  if (found.kind === 'unavailable') return retry(`catalog: ${found.error}`);
  if (found.kind === 'not-found') return { kind: 'fail', error: 'catalog: the doctor or the clinic of the appointment does not exist', retryable: false };
  return ok(found.value);
}

/** The rendered message, with its stable Message-ID. */
function composeMessage(row: SendableRow, appointment: Appointment, to: { name: string; to: string }, where: { doctor: Doctor; clinic: Clinic }): OutgoingMessage {
  const facts: MessageFacts = {
    kind: row.kind,
    appointmentId: row.appointmentId,
    patientName: to.name,
    doctorName: where.doctor.displayName,
    clinicName: where.clinic.displayName,
    clinicAddress: where.clinic.address,
    clinicTimeZone: where.clinic.timeZone,
    startTime: row.appointmentStartTime,
    ...(row.previousStartTime && { previousStartTime: row.previousStartTime }),
    ...(row.kind === 'cancellation' && appointment.cancelReason && { cancelReason: appointment.cancelReason }),
    // The room as booking shows it now (roomPending waited a little for it).
    ...(appointment.consultation?.joinUrl && { joinUrl: appointment.consultation.joinUrl }),
  };
  const { subject, text } = renderMessage(facts, row.channel);
  const messageId = messageIdOf(row.appointmentId, row.kind, row.channel, row.reminderOffsetMs ?? undefined);
  return { channel: row.channel, to: to.to, messageId, subject, text };
}

/** The message of `row` ready for its channel, or why it will not go out now. */
export async function prepareMessage(lookups: SendLookups, row: SendableRow): Promise<Step<OutgoingMessage>> {
  const appointment = await appointmentStillDue(lookups, row);
  if (appointment.kind !== 'ok') return appointment;
  const waiting = roomPending(row, appointment.value);
  if (waiting) return waiting;
  const to = await recipient(lookups, row);
  if (to.kind !== 'ok') return to;
  const where = await place(lookups, appointment.value);
  if (where.kind !== 'ok') return where;
  return ok(composeMessage(row, appointment.value, to.value, where.value));
}
