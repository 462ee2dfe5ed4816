import { AppointmentStatus, Canceller, type Appointment, type Patient } from '@carebook/proto/booking';
import type { Channel } from '../channels/port';
import type { SkipReason } from '../feed/event-plan';
import type { Notification } from '../notifications/repo';

// The checks made right before a message goes out, against booking's answer
// at that moment: the feed may be behind (a cancellation not yet applied), so
// what the row says is never trusted on its own. Pure: the caller fetches.

const sameInstant = (a: Date | undefined, b: Date) => a !== undefined && a.getTime() === b.getTime();

/** Why the message must not go out given the appointment as booking has it now, or undefined if it may. `now` is the database's clock. */
export function appointmentSkipReason(row: Pick<Notification, 'kind' | 'appointmentStartTime'>, appointment: Appointment, now: Date): SkipReason | undefined {
  if (row.kind === 'cancellation') {
    return appointment.status === AppointmentStatus.APPOINTMENT_STATUS_CANCELLED ? undefined : 'APPOINTMENT_NOT_BOOKED';
  }
  if (appointment.status === AppointmentStatus.APPOINTMENT_STATUS_CANCELLED) {
    // Cancelled by a reschedule (no canceller): it moved; otherwise it was called off.
    return appointment.cancelledBy === Canceller.CANCELLER_UNSPECIFIED ? 'APPOINTMENT_MOVED' : 'APPOINTMENT_CANCELLED';
  }
  if (appointment.status !== AppointmentStatus.APPOINTMENT_STATUS_BOOKED) return 'APPOINTMENT_NOT_BOOKED';
  if (!sameInstant(appointment.startTime, row.appointmentStartTime)) return 'APPOINTMENT_MOVED';
  if (row.appointmentStartTime.getTime() <= now.getTime()) return 'APPOINTMENT_STARTED';
  return undefined;
}

/** Where the message goes on `channel`, or why it cannot go there: no address, or no consent. */
export function recipientOf(patient: Patient, channel: Channel): { to: string } | { skip: SkipReason } {
  const [to, consent] = channel === 'email' ? [patient.email, patient.emailReminders] : [patient.phone, patient.smsReminders];
  if (!to) return { skip: 'NO_CONTACT' };
  // Unset means the default, consent (booking sets it at creation).
  if (consent === false) return { skip: 'NO_CONSENT' };
  return { to };
}
