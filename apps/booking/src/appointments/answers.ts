import { FailedPreconditionError, NotFoundError, UnavailableError } from '@carebook/server';
import type { HoldOutcome } from './hold-settlement';
import type { Appointment } from './repo';
import type { Settlement } from './settlement';

// The API's answers to the protocol's outcomes: the appointment, or the error
// that says why not. Outcomes are values up to here; errors are made here.

/** The caller's error when the slot is held by another claim. */
export function slotUnavailable(appointment: Appointment): FailedPreconditionError {
  return new FailedPreconditionError(`slot ${appointment.slotId} is already taken`, 'SLOT_UNAVAILABLE', {
    slot_id: appointment.slotId,
    appointment_id: appointment.id,
  });
}

/** The caller's error when the slot has already started. */
export function slotInPast(slotId: string): FailedPreconditionError {
  return new FailedPreconditionError(`slot ${slotId} has already started`, 'SLOT_IN_PAST', { slot_id: slotId });
}

/** The caller's error while an appointment's outcome is not known yet: a retry with the same request_id will tell. */
export function stillSettling(appointment: Appointment): UnavailableError {
  return new UnavailableError(`appointment ${appointment.id} is being settled; retry shortly with the same request_id`, 'BOOKING_SETTLING', {
    appointment_id: appointment.id,
  });
}

/** The answer to a settlement: the appointment if booked or held, else the error that says why not. */
export function answerOf(settled: Settlement | 'late', appointment: Appointment): Appointment {
  if (settled === 'late') throw stillSettling(appointment);
  switch (settled.kind) {
    case 'booked':
    case 'held':
      return settled.appointment;
    case 'failed':
      if (settled.why === 'slot_not_found') throw new NotFoundError('slot', appointment.slotId);
      throw slotUnavailable(appointment);
    case 'refused':
      if (settled.why === 'slot_not_found') throw new NotFoundError('slot', appointment.slotId);
      throw slotInPast(appointment.slotId);
    case 'given_back':
      if (settled.why === 'replaced_not_booked') {
        throw new FailedPreconditionError(`appointment ${appointment.replacesAppointmentId} is no longer booked`, 'APPOINTMENT_NOT_BOOKED', {
          appointment_id: appointment.replacesAppointmentId ?? '',
        });
      }
      if (settled.why === 'slot_conflict') throw slotUnavailable(appointment);
      throw new FailedPreconditionError(`appointment ${appointment.id} expired before its slot was claimed`, 'BOOKING_EXPIRED', {
        appointment_id: appointment.id,
      });
  }
}

/** Why an appointment cannot be confirmed: its hold lapsed (EXPIRED), or it is no hold to confirm (CANCELLED, FAILED). */
export function notConfirmable(appointment: Appointment): FailedPreconditionError {
  if (appointment.status === 'expired') {
    return new FailedPreconditionError(`the hold of appointment ${appointment.id} lapsed before it was confirmed`, 'HOLD_EXPIRED', {
      appointment_id: appointment.id,
      slot_id: appointment.slotId,
    });
  }
  return new FailedPreconditionError(`appointment ${appointment.id} is ${appointment.status}, not held`, 'APPOINTMENT_NOT_HELD', {
    appointment_id: appointment.id,
    status: appointment.status,
  });
}

/** The answer to a confirmation: the BOOKED appointment, or the error that says why not. */
export function answerOfConfirmation(outcome: HoldOutcome): Appointment {
  if (outcome.kind === 'booked') return outcome.appointment;
  throw notConfirmable(outcome.appointment);
}
