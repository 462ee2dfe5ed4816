import { UnavailableError, violates } from '@carebook/server';
import type { Logger } from 'pino';
import type { CatalogGateway } from '../catalog-gateway';
import type { ConflictsRepo } from '../conflicts/repo';
import type { ReleaseDispatcher } from '../releases/dispatcher';
import type { Appointment, AppointmentsRepo } from './repo';

/**
 * How settling a PENDING appointment ended:
 * - booked: its claim made it BOOKED (finishing a reschedule);
 * - failed: the slot was not claimed for it (taken, or unknown to catalog);
 * - given_back: FAILED while its claim may hold the slot, so a release is
 *   owed: the appointment it replaces is no longer booked, it was settled
 *   before its claim came through, its slot turned out to belong to another
 *   booked appointment (a slot conflict), or it was overdue and its claim
 *   might have landed.
 */
export type Settlement =
  | { kind: 'booked'; appointment: Appointment }
  | { kind: 'failed'; why: 'slot_taken' | 'slot_not_found' }
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
   * Our claim won in catalog, yet booking already has a BOOKED appointment for
   * the slot: catalog had let go of that appointment's claim. The conflict is
   * recorded (and logged) once, for the resolver to claim the slot back for
   * the booked appointment; this claim is given back.
   */
  async function slotConflict(appointment: Appointment): Promise<Settlement> {
    const holder = await repo.findBookedForSlot(appointment.slotId);
    if (holder && (await conflicts.record(holder.id, appointment.slotId))) {
      log.warn({ appointmentId: holder.id, slotId: appointment.slotId, strayClaimId: appointment.id }, 'slot taken from a booked appointment');
    }
    return giveBack(appointment, 'slot_conflict');
  }

  /** PENDING → BOOKED (or, for a reschedule, the old one CANCELLED with it); undefined when the appointment was no longer pending. */
  async function book(appointment: Appointment): Promise<Settlement | undefined> {
    if (!appointment.replacesAppointmentId) {
      const booked = await repo.markBooked(appointment.id);
      return booked && { kind: 'booked', appointment: booked };
    }
    const result = await repo.completeReschedule(appointment, appointment.replacesAppointmentId);
    if (result.done) {
      await releases.deliverNow(result.replaced.slotId, result.replaced.id);
      return { kind: 'booked', appointment: result.appointment };
    }
    return result.why === 'replaced_not_booked' ? giveBack(appointment, 'replaced_not_booked') : undefined;
  }

  /** The claim on the appointment's slot succeeded. */
  async function claimed(appointment: Appointment): Promise<Settlement> {
    let settled: Settlement | undefined;
    try {
      settled = await book(appointment);
    } catch (err) {
      if (violates(err, 'appointment_one_booked_per_slot_key')) return slotConflict(appointment);
      throw err;
    }
    if (settled) return settled;
    // No longer pending: a concurrent retry booked it, or the reconciler
    // settled it as FAILED before the claim came through.
    const current = await repo.findById(appointment.id);
    if (current?.status === 'booked') return { kind: 'booked', appointment: current };
    log.warn({ appointmentId: appointment.id, slotId: appointment.slotId }, 'claim arrived after the appointment was settled; giving the slot back');
    return giveBack(appointment, 'settled_before_claim');
  }

  return {
    claimed,

    /** The slot was not claimed for the appointment: make it FAILED. */
    async notClaimed(appointment: Appointment, why: 'slot_taken' | 'slot_not_found'): Promise<Settlement> {
      await repo.markFailed(appointment.id);
      return { kind: 'failed', why };
    },

    /**
     * Settles an appointment PENDING past its claim deadline and the clock
     * skew bound, when no claim for it can land any more, by the slot's state
     * in catalog. A slot held by its id means BOOKED. Anything else means
     * FAILED, still owing a release: a claim that committed just as catalog
     * was read could have landed unseen, and releasing a slot the appointment
     * does not hold changes nothing (docs/design.md §5.3).
     */
    async settleOverdue(appointment: Appointment): Promise<Settlement> {
      const slot = await catalog.findSlot(appointment.slotId);
      if (!slot) {
        await repo.markFailed(appointment.id);
        return { kind: 'failed', why: 'slot_not_found' };
      }
      if (slot.claimId === appointment.id) return claimed(appointment);
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
