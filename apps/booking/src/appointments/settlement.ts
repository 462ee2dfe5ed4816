import { UnavailableError, violates } from '@carebook/server';
import type { Logger } from 'pino';
import type { CatalogGateway, CatalogSlot } from '../catalog-gateway';
import type { ConflictsRepo } from '../conflicts/repo';
import type { ReleaseDispatcher } from '../releases/dispatcher';
import type { Appointment, AppointmentsRepo, SlotFacts } from './repo';

/**
 * How settling a PENDING appointment ended:
 * - booked: its claim made it BOOKED (finishing a reschedule);
 * - held: its claim, a hold, made it HELD;
 * - failed: the slot was not claimed for it (taken, or unknown to catalog);
 * - refused: catalog refused the claim as a bad request (the slot is unknown
 *   or has started), and the PENDING appointment was deleted: nothing of the
 *   request stays written;
 * - given_back: FAILED while its claim may hold the slot, so a release is
 *   owed: the appointment it replaces is no longer booked, it was settled
 *   before its claim came through, its slot turned out to belong to another
 *   booked appointment (a slot conflict), or it was overdue and its claim
 *   might have landed.
 */
export type Settlement =
  | { kind: 'booked' | 'held'; appointment: Appointment }
  | { kind: 'failed'; why: 'slot_taken' | 'slot_not_found' }
  | { kind: 'refused'; why: 'slot_not_found' | 'slot_in_past' }
  | { kind: 'given_back'; why: 'replaced_not_booked' | 'settled_before_claim' | 'slot_conflict' | 'overdue' };

/**
 * Settles PENDING appointments once their claim's outcome is known. Shared by
 * the booking path, cancellations and the reconciler, so all end in the same
 * states. Outcomes are values; the API's errors are made by the caller.
 */
export function appointmentSettlement(repo: AppointmentsRepo, conflicts: ConflictsRepo, catalog: CatalogGateway, releases: ReleaseDispatcher, log: Logger) {
  /** Marks the appointment FAILED and owes catalog its slot back: the claim may be ours but is unusable. */
  async function giveBack(appointment: Appointment, why: Extract<Settlement, { kind: 'given_back' }>['why']): Promise<Settlement> {
    await repo.failAndRelease(appointment);
    await releases.deliverNow(appointment.slotId, appointment.id);
    return { kind: 'given_back', why };
  }

  /**
   * Our claim won in catalog, yet booking already has another appointment
   * holding the slot. A BOOKED `holder` means catalog had let go of its
   * claim: the conflict is recorded (and logged) once, for the resolver to
   * claim the slot back for it. Either way this claim is given back.
   */
  async function slotConflict(appointment: Appointment, holder: Appointment | null): Promise<Settlement> {
    if (holder?.status === 'booked' && (await conflicts.record(holder.id, appointment.slotId))) {
      log.warn({ appointmentId: holder.id, slotId: appointment.slotId, strayClaimId: appointment.id }, 'slot taken from a booked appointment');
    }
    return giveBack(appointment, 'slot_conflict');
  }

  /**
   * PENDING → as catalog holds the slot for it: HELD until the hold's expiry,
   * or BOOKED (for a reschedule, the old one CANCELLED with it), in each case
   * with the slot's facts from catalog's answer; undefined when the
   * appointment was no longer pending.
   */
  async function book(appointment: Appointment, slot: CatalogSlot): Promise<Settlement | undefined> {
    const facts = factsOf(slot);
    if (slot.holdExpireTime) {
      const held = await repo.markHeld(appointment.id, facts, slot.holdExpireTime);
      return held && { kind: 'held', appointment: held };
    }
    if (!appointment.replacesAppointmentId) {
      const booked = await repo.markBooked(appointment.id, facts);
      return booked && { kind: 'booked', appointment: booked };
    }
    const result = await repo.completeReschedule(appointment, facts, appointment.replacesAppointmentId);
    if (result.done) {
      await releases.deliverNow(result.replaced.slotId, result.replaced.id);
      return { kind: 'booked', appointment: result.appointment };
    }
    return result.why === 'replaced_not_booked' ? giveBack(appointment, 'replaced_not_booked') : undefined;
  }

  /**
   * Settles the appointment by catalog's grant of `slot`. Another appointment
   * may still hold the slot here: a HELD one whose hold lapsed (catalog's
   * grant proves it holds nothing there now) is settled EXPIRED first, and the
   * settle tried again; a BOOKED one is a slot conflict.
   */
  async function settleGranted(appointment: Appointment, slot: CatalogSlot): Promise<Settlement | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await book(appointment, slot);
      } catch (err) {
        if (!violates(err, 'appointment_one_holder_per_slot_key')) throw err;
        const holder = await repo.findHolderOfSlot(appointment.slotId);
        if (holder?.status !== 'held' || attempt > 1) return slotConflict(appointment, holder);
        await repo.expireHold(holder);
        await releases.deliverNow(holder.slotId, holder.id);
        log.info({ appointmentId: holder.id, slotId: holder.slotId, claimId: appointment.id }, 'lapsed hold expired by a later claim');
      }
    }
  }

  /** The claim on the appointment's slot succeeded: catalog holds `slot` for it. */
  async function claimed(appointment: Appointment, slot: CatalogSlot): Promise<Settlement> {
    const settled = await settleGranted(appointment, slot);
    if (settled) return settled;
    // No longer pending: a concurrent retry settled it, or the reconciler
    // settled it as FAILED before the claim came through.
    const current = await repo.findById(appointment.id);
    if (current?.status === 'booked' || current?.status === 'held') return { kind: current.status, appointment: current };
    log.warn({ appointmentId: appointment.id, slotId: appointment.slotId }, 'claim arrived after the appointment was settled; giving the slot back');
    return giveBack(appointment, 'settled_before_claim');
  }

  return {
    claimed,

    /** The slot was not claimed for the appointment, another claim holds it: make it FAILED, which answers retries of its request. */
    async notClaimed(appointment: Appointment): Promise<Settlement> {
      await repo.markFailed(appointment.id);
      return { kind: 'failed', why: 'slot_taken' };
    },

    /**
     * catalog refused the claim as a bad request (the slot is unknown, or has
     * started and another claim or none holds it, so this claim never will):
     * the PENDING appointment is deleted, so nothing of the request stays
     * written. Deleted by someone else's settle meanwhile changes nothing:
     * the answer is the same.
     */
    async refused(appointment: Appointment, why: 'slot_not_found' | 'slot_in_past'): Promise<Settlement> {
      await repo.deletePending(appointment.id);
      return { kind: 'refused', why };
    },

    /**
     * Settles an appointment PENDING past its claim deadline and the clock
     * skew bound, when no claim for it can land any more, by the slot's state
     * in catalog. A slot held by its id means BOOKED. Anything else means
     * FAILED, still owing a release: a claim that committed just as catalog
     * was read could have landed unseen, and releasing a slot the appointment
     * does not hold changes nothing (docs/booking-protocol.md, section 3.3).
     */
    async settleOverdue(appointment: Appointment): Promise<Settlement> {
      const slot = await catalog.findSlot(appointment.slotId);
      if (!slot) {
        await repo.markFailed(appointment.id);
        return { kind: 'failed', why: 'slot_not_found' };
      }
      if (slot.claimId === appointment.id) return claimed(appointment, slot);
      // A taken slot whose claim catalog did not show cannot be judged: the
      // claim may be this appointment's (catalog shows claims only to the
      // internal credential). Left PENDING rather than failed wrongly.
      if (!slot.open && slot.claimId === undefined) {
        throw new UnavailableError(`catalog did not show who holds slot ${appointment.slotId}`, 'CATALOG_CLAIM_HIDDEN', { slot_id: appointment.slotId });
      }
      return giveBack(appointment, 'overdue');
    },
  };
}

export type AppointmentSettlement = ReturnType<typeof appointmentSettlement>;

/** What the appointment copies from the slot catalog granted it. */
export const factsOf = (slot: CatalogSlot): SlotFacts => ({
  doctorId: slot.doctorId,
  clinicId: slot.clinicId,
  startTime: slot.startTime,
  endTime: slot.endTime,
  modality: slot.modality,
});
