import {
  AlreadyExistsError,
  DeadlineExceededError,
  FailedPreconditionError,
  NotFoundError,
  retryOnTransactionConflict,
  toPage,
  violates,
  type Page,
  type TimeIdKey,
} from '@carebook/server';
import type { DoctorsService } from '../doctors/service';
import type { Modality } from '../modality';
import type { NamedSlot, NextAvailableSearch, ReadSlot, Slot, SlotInterval, SlotSearch, SlotsRepo } from './repo';

const slotKey = (s: Slot): TimeIdKey => [s.startTime.toISOString(), s.id];

/** The slot as it stands: a hold that lapsed (by the database's clock) is an open slot, as every claim treats it. */
function asItStands({ holdLapsed, ...slot }: ReadSlot): NamedSlot {
  return holdLapsed ? { ...slot, status: 'open', claimId: null, holdExpireTime: null } : slot;
}

/** Business rules for slots; the claim and release are the only writers of slot status. */
export function slotsService(repo: SlotsRepo, doctors: DoctorsService) {
  async function overlapError(doctorId: string, intervals: SlotInterval[], cause: unknown): Promise<AlreadyExistsError> {
    // The exclusion constraint refused the batch. Name the existing slot it
    // clashed with; it may be gone already if a racing batch rolled back.
    const existing = await repo.findOverlapping(doctorId, intervals);
    if (!existing) return new AlreadyExistsError('a slot overlaps another slot of the doctor', 'SLOT_OVERLAP', { doctor_id: doctorId }, { cause });
    const index = intervals.findIndex((i) => i.startTime < existing.endTime && i.endTime > existing.startTime);
    return new AlreadyExistsError(
      `slots[${index}] overlaps slot ${existing.id} (${existing.startTime.toISOString()} to ${existing.endTime.toISOString()})`,
      'SLOT_OVERLAP',
      { doctor_id: doctorId, slot_index: String(index), conflicting_slot_id: existing.id },
      { cause },
    );
  }

  async function get(id: string): Promise<Slot> {
    const slot = await repo.findById(id);
    if (!slot) throw new NotFoundError('slot', id);
    return slot;
  }

  return {
    get,

    /** The slot with its doctor's and clinic's names, a lapsed hold shown as open; NOT_FOUND if unknown. */
    async getNamed(id: string): Promise<NamedSlot> {
      const slot = await repo.findNamedById(id);
      if (!slot) throw new NotFoundError('slot', id);
      return asItStands(slot);
    },

    /**
     * Publishes a batch of slots of one modality at `clinicId` (one of the
     * doctor's clinics; default the primary one), all or nothing. Intervals
     * must not overlap each other, nor the doctor's slots of either modality.
     */
    async createMany(doctorId: string, intervals: SlotInterval[], { clinicId, modality }: { clinicId?: string; modality: Modality }): Promise<Slot[]> {
      const sorted = intervals.map((interval, index) => ({ interval, index })).sort((a, b) => +a.interval.startTime - +b.interval.startTime);
      for (let k = 1; k < sorted.length; k++) {
        const [previous, next] = [sorted[k - 1], sorted[k]];
        if (next.interval.startTime < previous.interval.endTime) {
          throw new AlreadyExistsError(`slots[${next.index}] overlaps slots[${previous.index}] of the same request`, 'SLOT_OVERLAP', {
            doctor_id: doctorId,
            slot_index: String(next.index),
            conflicting_slot_index: String(previous.index),
          });
        }
      }
      const doctor = await doctors.get(doctorId);
      if (clinicId) doctors.assertPractisesAt(doctor, clinicId);
      try {
        // Racing batches of one doctor can deadlock on each other's rows in
        // the exclusion index; PostgreSQL aborts one, and its retry then meets
        // the winner's committed slots as an ordinary overlap.
        const created = await retryOnTransactionConflict(() => repo.createMany(doctorId, { clinicId: clinicId ?? doctor.clinicId, modality }, intervals));
        return created.sort((a, b) => +a.startTime - +b.startTime);
      } catch (err) {
        if (violates(err, 'slot_doctor_no_overlap')) throw await overlapError(doctorId, intervals, err);
        throw err;
      }
    },

    async search(search: SlotSearch, pageSize: number, after: TimeIdKey | undefined): Promise<Page<NamedSlot>> {
      const rows = await repo.searchOpen(search, pageSize + 1, after && { startTime: new Date(after[0]), id: after[1] });
      return toPage(rows, pageSize, slotKey);
    },

    /** The earliest open slot of each matching doctor, earliest first. */
    nextAvailable: (search: NextAvailableSearch): Promise<NamedSlot[]> => repo.nextAvailable(search),

    /**
     * Claims the slot for `claimId`, booked, or held for `holdMs`;
     * SLOT_UNAVAILABLE if another claim holds it, SLOT_IN_PAST once it has
     * started (by the database's clock). Nothing changes after `deadline`.
     */
    async claim(slotId: string, claimId: string, deadline: Date | undefined, holdMs?: number): Promise<Slot> {
      const claimed = await repo.claim(slotId, claimId, deadline, holdMs);
      if (claimed) return claimed;
      // Why it was refused, by the same clock the claim was judged by: the database's.
      const refusal = await repo.claimRefusal(slotId, claimId, deadline);
      if (!refusal.found) throw new NotFoundError('slot', slotId);
      if (refusal.started) throw new FailedPreconditionError(`slot ${slotId} has already started`, 'SLOT_IN_PAST', { slot_id: slotId });
      if (refusal.late) throw new DeadlineExceededError(`the deadline passed before slot ${slotId} was claimed`, 'CLAIM_DEADLINE_PASSED', { slot_id: slotId });
      throw new FailedPreconditionError(`slot ${slotId} is taken by another claim`, 'SLOT_UNAVAILABLE', { slot_id: slotId });
    },

    /** Opens slots whose hold lapsed, up to `limit`, so that search shows them again; returns how many. */
    reopenLapsedHolds: (limit: number): Promise<number> => repo.reopenLapsedHolds(limit),

    /** Opens the slot held by `claimId`. A no-op if it is open; CLAIM_MISMATCH if another claim holds it. */
    async release(slotId: string, claimId: string): Promise<Slot> {
      const released = await repo.release(slotId, claimId);
      if (released) return released;
      const slot = await get(slotId);
      if (slot.status === 'open') return slot;
      throw new FailedPreconditionError(`slot ${slotId} is held by another claim`, 'CLAIM_MISMATCH', { slot_id: slotId });
    },
  };
}

export type SlotsService = ReturnType<typeof slotsService>;
