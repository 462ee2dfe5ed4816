import { preparedByText, queryPrepared, type SqlPool } from '@carebook/server';
import type { CatalogPrisma } from '../db';
import type { Modality, Prisma, Slot } from '../generated/prisma/client';
import { nextAvailableSql, searchSlotsSql, type NextAvailableSearch, type SlotKeyset, type SlotSearch } from './search-sql';
import { CLAIM, HOLD, NAMED_SLOT_BY_ID, RELEASE } from './statements';

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

/** A slot as GetSlot reads it: named, and whether its hold has lapsed by the database's clock. */
export type ReadSlot = NamedSlot & { holdLapsed: boolean };

export interface SlotInterval {
  startTime: Date;
  endTime: Date;
}

/**
 * Queries over the slot table. Every state change is one conditional UPDATE.
 * What every booking or search runs is prepared (statements.ts; search-sql.ts
 * builds one statement per filter combination, prepared by its text).
 */
export function slotsRepo(prisma: CatalogPrisma, sql: SqlPool) {
  const runBuilt = <Row extends object>(prefix: string, statement: Prisma.Sql) =>
    queryPrepared<Row>(sql, preparedByText(prefix, statement.text), statement.values);

  return {
    /** Inserts the batch in one statement: all rows or none. */
    createMany: (doctorId: string, { clinicId, modality }: { clinicId: string; modality: Modality }, intervals: SlotInterval[]) =>
      prisma.$transaction(async (tx) => {
        // Batches of one doctor queue on the doctor's row instead of meeting
        // in the exclusion index, where racing inserts deadlock and one is
        // aborted only after deadlock_timeout. NO KEY UPDATE leaves the
        // foreign-key checks of other writers alone. The lock also holds the
        // doctor's specialty, which each slot carries, until the commit.
        const [doctor] = await tx.$queryRaw<{ specialty: string }[]>`SELECT specialty FROM doctor WHERE id = ${doctorId}::uuid FOR NO KEY UPDATE`;
        return tx.slot.createManyAndReturn({
          data: intervals.map((i) => ({ doctorId, specialty: doctor.specialty, clinicId, modality, startTime: i.startTime, endTime: i.endTime })),
        });
      }),

    /** A slot of the doctor overlapping any of the intervals, if one exists. */
    findOverlapping: (doctorId: string, intervals: SlotInterval[]) =>
      prisma.slot.findFirst({
        where: { doctorId, OR: intervals.map((i) => ({ startTime: { lt: i.endTime }, endTime: { gt: i.startTime } })) },
        orderBy: { startTime: 'asc' },
      }),

    findById: (id: string) => prisma.slot.findUnique({ where: { id } }),

    /** The slot with its doctor's and clinic's names (one joined query: GetSlot is on every booking's path). */
    async findNamedById(id: string): Promise<ReadSlot | undefined> {
      return (await queryPrepared<ReadSlot>(sql, NAMED_SLOT_BY_ID, [id]))[0];
    },

    /** Open slots matching the search, in (start_time, id) order, after the keyset position (search-sql.ts). */
    searchOpen: (search: SlotSearch, limit: number, after?: SlotKeyset) => runBuilt<NamedSlot>('slot_search', searchSlotsSql(search, limit, after)),

    /** The first open slot of each matching doctor, in (start_time, id) order (search-sql.ts). */
    nextAvailable: (search: NextAvailableSearch) => runBuilt<NamedSlot>('slot_next_available', nextAvailableSql(search)),

    /**
     * The claim: one conditional UPDATE. It wins only while the slot is open,
     * or when this very claim already holds it (an idempotent retry).
     * Concurrent claimers queue on the row lock; after the winner commits,
     * the others re-check the WHERE clause against the booked row and match
     * nothing. The caller's deadline is part of the condition, re-checked
     * after any row-lock wait, so no claim lands after its caller gave up
     * (the booking reconciler relies on that). A hold past its expiry counts
     * as open, so a lapsed hold needs no sweeper to be claimed again. With
     * `holdMs` the slot is held until the database's now() plus that, instead
     * of booked. Returns the claimed slot, or undefined if the claim lost or
     * came too late.
     */
    async claim(slotId: string, claimId: string, deadline: Date | undefined, holdMs?: number): Promise<Slot | undefined> {
      const [statement, values] = holdMs === undefined ? [CLAIM, [slotId, claimId, deadline ?? null]] : [HOLD, [slotId, claimId, deadline ?? null, holdMs]];
      return (await queryPrepared<Slot>(sql, statement, values))[0];
    },

    /**
     * Why `claimId`'s claim matched nothing: the slot is unknown; it has
     * started and another claim or none holds it; or the deadline has passed
     * by the database's clock (else another claim holds it).
     */
    async claimRefusal(slotId: string, claimId: string, deadline: Date | undefined): Promise<{ found: boolean; started: boolean; late: boolean }> {
      const [row] = await prisma.$queryRaw<{ found: boolean; started: boolean; late: boolean }[]>`
        SELECT EXISTS (SELECT 1 FROM slot WHERE id = ${slotId}::uuid) AS found,
               EXISTS (SELECT 1 FROM slot WHERE id = ${slotId}::uuid AND start_time <= now()
                       AND claim_id IS DISTINCT FROM ${claimId}::uuid) AS started,
               coalesce(clock_timestamp() >= ${deadline ?? null}::timestamptz, false) AS late`;
      return row;
    },

    /**
     * Opens up to `limit` slots whose hold lapsed, so that search (which reads
     * open slots only) shows them again. Correctness never waits for it: a
     * claim treats a lapsed hold as open already. SKIP LOCKED leaves a slot
     * being claimed to its claim; the UPDATE's own WHERE re-checks the lapse.
     * Returns how many were opened.
     */
    reopenLapsedHolds: (limit: number) =>
      prisma.$executeRaw`
        UPDATE slot SET status = 'open', claim_id = NULL, hold_expire_time = NULL, update_time = now()
        WHERE id IN (SELECT id FROM slot WHERE status = 'held' AND hold_expire_time <= now()
                     ORDER BY hold_expire_time LIMIT ${limit} FOR UPDATE SKIP LOCKED)
          AND status = 'held' AND hold_expire_time <= now()`,

    /** Opens the slot if `claimId` holds it. Returns the opened slot, or undefined if it did not hold it. */
    async release(slotId: string, claimId: string): Promise<Slot | undefined> {
      return (await queryPrepared<Slot>(sql, RELEASE, [slotId, claimId]))[0];
    },
  };
}

export type SlotsRepo = ReturnType<typeof slotsRepo>;
