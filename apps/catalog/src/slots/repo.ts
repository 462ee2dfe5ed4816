import type { CatalogPrisma } from '../db';
import type { Slot } from '../generated/prisma/client';
import {
  nextAvailableSql,
  searchSlotsSql,
  SLOT_COLUMNS,
  SLOT_VIEW_COLUMNS,
  type NextAvailableSearch,
  type SlotKeyset,
  type SlotSearch,
} from './search-sql';

export type { Slot };
export type { NextAvailableSearch, SlotSearch };

/** The names a slot carries in search results and GetSlot, copied from its doctor and clinic. */
export interface SlotNames {
  doctorDisplayName: string;
  specialty: string;
  clinicDisplayName: string;
  clinicTimeZone: string;
}

/** A slot with its doctor's and clinic's names. */
export type NamedSlot = Slot & SlotNames;

export interface SlotInterval {
  startTime: Date;
  endTime: Date;
}

/** Queries over the slot table. Every state change is one conditional UPDATE. */
export function slotsRepo(prisma: CatalogPrisma) {
  return {
    /** Inserts the batch in one statement: all rows or none. */
    createMany: (doctorId: string, clinicId: string, intervals: SlotInterval[]) =>
      prisma.$transaction(async (tx) => {
        // Batches of one doctor queue on the doctor's row instead of meeting
        // in the exclusion index, where racing inserts deadlock and one is
        // aborted only after deadlock_timeout. NO KEY UPDATE leaves the
        // foreign-key checks of other writers alone. The lock also holds the
        // doctor's specialty, which each slot carries, until the commit.
        const [doctor] = await tx.$queryRaw<{ specialty: string }[]>`SELECT specialty FROM doctor WHERE id = ${doctorId}::uuid FOR NO KEY UPDATE`;
        return tx.slot.createManyAndReturn({
          data: intervals.map((i) => ({ doctorId, specialty: doctor.specialty, clinicId, startTime: i.startTime, endTime: i.endTime })),
        });
      }),

    /** A slot of the doctor overlapping any of the intervals, if one exists. */
    findOverlapping: (doctorId: string, intervals: SlotInterval[]) =>
      prisma.slot.findFirst({
        where: { doctorId, OR: intervals.map((i) => ({ startTime: { lt: i.endTime }, endTime: { gt: i.startTime } })) },
        orderBy: { startTime: 'asc' },
      }),

    findById: (id: string) => prisma.slot.findUnique({ where: { id } }),

    /** The slot with its doctor's and clinic's names. */
    async findNamedById(id: string): Promise<NamedSlot | undefined> {
      // One joined query: GetSlot is on every booking's path.
      const rows = await prisma.$queryRaw<NamedSlot[]>`
        SELECT ${SLOT_VIEW_COLUMNS} FROM slot s JOIN doctor d ON d.id = s.doctor_id JOIN clinic c ON c.id = s.clinic_id
        WHERE s.id = ${id}::uuid`;
      return rows[0];
    },

    /** Open slots matching the search, in (start_time, id) order, after the keyset position (search-sql.ts). */
    searchOpen: (search: SlotSearch, limit: number, after?: SlotKeyset) => prisma.$queryRaw<NamedSlot[]>(searchSlotsSql(search, limit, after)),

    /** The first open slot of each matching doctor, in (start_time, id) order (search-sql.ts). */
    nextAvailable: (search: NextAvailableSearch) => prisma.$queryRaw<NamedSlot[]>(nextAvailableSql(search)),

    /**
     * The claim: one conditional UPDATE. It wins only while the slot is open,
     * or when this very claim already holds it (an idempotent retry).
     * Concurrent claimers queue on the row lock; after the winner commits,
     * the others re-check the WHERE clause against the booked row and match
     * nothing. The caller's deadline is part of the condition, re-checked
     * after any row-lock wait, so no claim lands after its caller gave up
     * (the booking reconciler relies on that). Returns the claimed slot, or
     * undefined if the claim lost or came too late.
     */
    async claim(slotId: string, claimId: string, deadline: Date | undefined): Promise<Slot | undefined> {
      const rows = await prisma.$queryRaw<Slot[]>`
        UPDATE slot s SET status = 'booked', claim_id = ${claimId}::uuid, update_time = now()
        WHERE s.id = ${slotId}::uuid AND (s.status = 'open' OR s.claim_id = ${claimId}::uuid)
          AND (${deadline ?? null}::timestamptz IS NULL OR clock_timestamp() < ${deadline ?? null}::timestamptz)
        RETURNING ${SLOT_COLUMNS}`;
      return rows[0];
    },

    /** Opens the slot if `claimId` holds it. Returns the opened slot, or undefined if it did not hold it. */
    async release(slotId: string, claimId: string): Promise<Slot | undefined> {
      const rows = await prisma.$queryRaw<Slot[]>`
        UPDATE slot s SET status = 'open', claim_id = NULL, update_time = now()
        WHERE s.id = ${slotId}::uuid AND s.claim_id = ${claimId}::uuid
        RETURNING ${SLOT_COLUMNS}`;
      return rows[0];
    },
  };
}

export type SlotsRepo = ReturnType<typeof slotsRepo>;
