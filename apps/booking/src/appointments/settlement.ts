import { FailedPreconditionError } from '@carebook/server';
import type { Logger } from 'pino';
import type { ReleaseDispatcher } from '../releases/dispatcher';
import type { Appointment, AppointmentsRepo } from './repo';

/** The caller's error when the slot is held by another claim. */
export function slotUnavailable(appointment: Appointment): FailedPreconditionError {
  return new FailedPreconditionError(`slot ${appointment.slotId} is already booked`, 'SLOT_UNAVAILABLE', {
    slot_id: appointment.slotId,
    appointment_id: appointment.id,
  });
}

/**
 * Settles a PENDING appointment once its claim's outcome is known. Shared by
 * the booking path and the reconciler, so both end in the same states:
 * claimed → BOOKED (finishing a reschedule), not claimed → FAILED. A claim
 * that can no longer become a booking is given back through the outbox.
 */
export function appointmentSettlement(repo: AppointmentsRepo, releases: ReleaseDispatcher, log: Logger) {
  /** Marks the appointment FAILED and owes catalog its slot back; the claim is ours but unusable. */
  async function giveBack(appointment: Appointment): Promise<void> {
    await repo.failAndRelease(appointment);
    await releases.deliverNow(appointment.slotId, appointment.id);
  }

  return {
    /** The claim on the appointment's slot succeeded: make it BOOKED. */
    async claimed(appointment: Appointment): Promise<Appointment> {
      if (appointment.replacesAppointmentId) {
        const result = await repo.completeReschedule(appointment, appointment.replacesAppointmentId);
        if (result.done) {
          await releases.deliverNow(result.replaced.slotId, result.replaced.id);
          return result.appointment;
        }
        if (result.why === 'replaced_not_booked') {
          await giveBack(appointment);
          throw new FailedPreconditionError(
            `appointment ${appointment.replacesAppointmentId} is no longer booked`,
            'APPOINTMENT_NOT_BOOKED',
            { appointment_id: appointment.replacesAppointmentId },
          );
        }
      } else {
        const booked = await repo.markBooked(appointment.id);
        if (booked) return booked;
      }
      // No longer pending: a concurrent retry booked it, or the reconciler
      // settled it as FAILED before the claim came through.
      const current = await repo.findById(appointment.id);
      if (current?.status === 'booked') return current;
      log.warn({ appointmentId: appointment.id, slotId: appointment.slotId }, 'claim arrived after the appointment was settled; giving the slot back');
      await giveBack(appointment);
      throw new FailedPreconditionError(`appointment ${appointment.id} expired before its slot was claimed`, 'BOOKING_EXPIRED', {
        appointment_id: appointment.id,
      });
    },

    /** Another claim holds the slot: make the appointment FAILED. */
    async notClaimed(appointment: Appointment): Promise<void> {
      await repo.markFailed(appointment.id);
    },
  };
}

export type AppointmentSettlement = ReturnType<typeof appointmentSettlement>;
