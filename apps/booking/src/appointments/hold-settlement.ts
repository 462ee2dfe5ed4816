import { UnavailableError } from '@carebook/server';
import type { Logger } from 'pino';
import type { CallerContext, CatalogGateway } from '../catalog-gateway';
import type { ReleaseDispatcher } from '../releases/dispatcher';
import type { Appointment, AppointmentsRepo } from './repo';

/**
 * How a HELD appointment ended: BOOKED (its hold turned into a booking), or
 * not, with the appointment as it now is (EXPIRED, or CANCELLED meanwhile).
 */
export type HoldOutcome = { kind: 'booked'; appointment: Appointment } | { kind: 'not_booked'; appointment: Appointment };

/**
 * Settles HELD appointments: by their confirmation, or once their hold
 * lapsed. Shared by ConfirmAppointment and the reconciler, so both end in the
 * same states. Every way to EXPIRED owes a release of the slot the hold may
 * still name, in the same transaction: an EXPIRED appointment owns no slot,
 * and a release guarded by its claim id changes nothing where it holds none.
 */
export function holdSettlement(repo: AppointmentsRepo, catalog: CatalogGateway, releases: ReleaseDispatcher, log: Logger) {
  /** HELD → EXPIRED, owing the slot back, which catalog is asked for at once. */
  async function expire(appointment: Appointment): Promise<HoldOutcome> {
    const expired = await repo.expireHold(appointment);
    await releases.deliverNow(appointment.slotId, appointment.id);
    return { kind: 'not_booked', appointment: expired ?? (await current(appointment)) };
  }

  async function current(appointment: Appointment): Promise<Appointment> {
    return (await repo.findById(appointment.id)) ?? appointment;
  }

  /**
   * catalog booked the slot for the hold: HELD → BOOKED. An appointment that
   * left HELD meanwhile (cancelled, or expired by the reconciler) no longer
   * wants the slot, so the booking is owed back.
   */
  async function confirmed(appointment: Appointment): Promise<HoldOutcome> {
    const booked = await repo.markConfirmed(appointment.id);
    if (booked) return { kind: 'booked', appointment: booked };
    const now = await current(appointment);
    if (now.status === 'booked') return { kind: 'booked', appointment: now };
    log.warn({ appointmentId: appointment.id, slotId: appointment.slotId, status: now.status }, 'hold confirmed after it was settled; giving the slot back');
    await repo.oweRelease(appointment.slotId, appointment.id);
    await releases.deliverNow(appointment.slotId, appointment.id);
    return { kind: 'not_booked', appointment: now };
  }

  /**
   * Settles a HELD appointment whose hold has lapsed by catalog's clock, when
   * no confirmation of it can land any more, by the slot's state: booked by
   * it means a confirmation landed whose answer was lost, so BOOKED;
   * anything else EXPIRED.
   */
  async function settleLapsed(appointment: Appointment, caller: CallerContext = {}): Promise<HoldOutcome> {
    const slot = await catalog.findSlot(appointment.slotId, caller);
    if (slot?.claimId === appointment.id && !slot.open && !slot.holdExpireTime) return confirmed(appointment);
    // A taken slot whose claim catalog did not show cannot be judged (see settlement.settleOverdue).
    if (slot && !slot.open && slot.claimId === undefined) {
      throw new UnavailableError(`catalog did not show who holds slot ${appointment.slotId}`, 'CATALOG_CLAIM_HIDDEN', { slot_id: appointment.slotId });
    }
    return expire(appointment);
  }

  return {
    settleLapsed,

    /**
     * Turns the hold into a booking: the same claim again, without a hold,
     * whose deadline is the hold's expiry, so catalog's clock alone decides
     * whether it came in time. One conditional UPDATE in catalog decides
     * between it and any other claim once the hold lapses: never both.
     */
    async confirm(appointment: Appointment, caller: CallerContext): Promise<HoldOutcome> {
      const outcome = await catalog.claimSlot(appointment.slotId, appointment.id, appointment.holdExpireTime ?? undefined, caller);
      if (outcome.claimed) return confirmed(appointment);
      // Too late by catalog's clock: an earlier confirmation may have landed unanswered.
      if (outcome.why === 'late') return settleLapsed(appointment, caller);
      // Another claim took the slot once the hold lapsed.
      return expire(appointment);
    },
  };
}

export type HoldSettlement = ReturnType<typeof holdSettlement>;
