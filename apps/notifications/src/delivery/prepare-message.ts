import type { Appointment, Patient } from '@carebook/proto/booking';
import { Modality, type Clinic, type Doctor } from '@carebook/proto/catalog';
import type { OutgoingMessage } from '../channels/port';
import type { SkipReason } from '../feed/event-plan';
import type { MessageFacts } from '../messages/facts';
import { messageIdOf } from '../messages/message-id';
import { renderMessage } from '../messages/render';
import type { Notification } from '../notifications/repo';
import type { Lookup, SendLookups } from './lookups';
import { appointmentSkipReason, recipientOf } from './send-time-check';

// The messages that SCHEDULED rows stand for (a row per message and
// channel), each made from what booking and catalog say now, in two rounds
// of batch reads for all the rows at once (lookups.ts): the appointments and
// the patients (is the appointment still as the row says, where does the
// message go), then the doctors and the clinics of the messages still due.
// Each row's preparation ends with its message, or with a skip (nothing to
// send, for good) or a failure (try again, or not) as a value; the send job
// records each.

/** Why a message will not go out now: it must not at all (skip), or something it needs failed. */
type Stop = { kind: 'skip'; reason: SkipReason } | { kind: 'fail'; error: string; retryable: boolean };

/** One ask's answer: what it found, or why the preparation stops. */
export type Step<T> = { kind: 'ok'; value: T } | Stop;

/** The row as the send job read it, with the database's clock at that moment. */
export type SendableRow = Notification & { databaseNow: Date };

const ok = <T>(value: T): Step<T> => ({ kind: 'ok', value });
const skip = (reason: SkipReason): Stop => ({ kind: 'skip', reason });
const retry = (error: string): Stop => ({ kind: 'fail', error, retryable: true });

/** The appointment as booking has it, if the message is still wanted for it (send-time-check.ts). */
function appointmentStillDue(appointment: Lookup<Appointment>, row: SendableRow): Step<Appointment> {
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
function recipient(patient: Lookup<Patient>, row: SendableRow): Step<{ name: string; to: string }> {
  if (patient.kind === 'unavailable') return retry(`booking: ${patient.error}`);
  if (patient.kind === 'not-found') return skip('NO_CONTACT');
  const address = recipientOf(patient.value, row.channel);
  return 'skip' in address ? skip(address.skip) : ok({ name: patient.value.displayName, to: address.to });
}

/** The appointment's doctor and clinic from catalog; their absence is a failure no retry mends. */
function place(doctor: Lookup<Doctor>, clinic: Lookup<Clinic>): Step<{ doctor: Doctor; clinic: Clinic }> {
  for (const found of [doctor, clinic]) if (found.kind === 'unavailable') return retry(`catalog: ${found.error}`);
  if (doctor.kind !== 'found' || clinic.kind !== 'found') return { kind: 'fail', error: 'catalog: the doctor or the clinic of the appointment does not exist', retryable: false };
  return ok({ doctor: doctor.value, clinic: clinic.value });
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

const distinct = (ids: string[]) => [...new Set(ids)];

/** The message of each of `rows` (at most MAX_BATCH_GET) ready for its channel, or why it will not go out now; in the order of `rows`. */
export async function prepareMessages(lookups: SendLookups, rows: readonly SendableRow[]): Promise<Step<OutgoingMessage>[]> {
  const [appointments, patients] = await Promise.all([
    lookups.appointments(distinct(rows.map((row) => row.appointmentId))),
    lookups.patients(distinct(rows.map((row) => row.patientId))),
  ]);
  const addressed = rows.map((row): Step<{ appointment: Appointment; to: { name: string; to: string } }> => {
    const appointment = appointmentStillDue(appointments.get(row.appointmentId)!, row);
    if (appointment.kind !== 'ok') return appointment;
    const waiting = roomPending(row, appointment.value);
    if (waiting) return waiting;
    const to = recipient(patients.get(row.patientId)!, row);
    return to.kind === 'ok' ? ok({ appointment: appointment.value, to: to.value }) : to;
  });
  const due = addressed.flatMap((step) => (step.kind === 'ok' ? [step.value.appointment] : []));
  if (due.length === 0) return addressed as Stop[];
  const [doctors, clinics] = await Promise.all([
    lookups.doctors(distinct(due.map((a) => a.doctorId))),
    lookups.clinics(distinct(due.map((a) => a.clinicId))),
  ]);
  return addressed.map((step, i) => {
    if (step.kind !== 'ok') return step;
    const { appointment, to } = step.value;
    const where = place(doctors.get(appointment.doctorId)!, clinics.get(appointment.clinicId)!);
    return where.kind === 'ok' ? ok(composeMessage(rows[i], appointment, to, where.value)) : where;
  });
}
