import { Prisma } from '../generated/prisma/client';
import type { CatalogPrisma } from '../db';
import type { Slot } from '../generated/prisma/client';

export type { Slot };

export interface SlotInterval {
  startTime: Date;
  endTime: Date;
}

export interface SlotSearch {
  specialty?: string;
  clinicId?: string;
  doctorId?: string;
  from: Date;
  to: Date;
}

// Raw queries return the columns under the Prisma model's field names, so
// both paths yield the same Slot type.
const SLOT_COLUMNS = Prisma.sql`
  s.id, s.doctor_id AS "doctorId", s.clinic_id AS "clinicId", s.start_time AS "startTime", s.end_time AS "endTime",
  s.status, s.claim_id AS "claimId", s.create_time AS "createTime", s.update_time AS "updateTime"`;

/** Queries over the slot table. Every state change is one conditional UPDATE. */
export function slotsRepo(prisma: CatalogPrisma) {
  return {
    /** Inserts the batch in one statement: all rows or none. */
    createMany: (doctorId: string, clinicId: string, intervals: SlotInterval[]) =>
      prisma.$transaction(async (tx) => {
        // Batches of one doctor queue on the doctor's row instead of meeting
        // in the exclusion index, where racing inserts deadlock and one is
        // aborted only after deadlock_timeout. NO KEY UPDATE leaves the
        // foreign-key checks of other writers alone.
        await tx.$executeRaw`SELECT 1 FROM doctor WHERE id = ${doctorId}::uuid FOR NO KEY UPDATE`;
        return tx.slot.createManyAndReturn({
          data: intervals.map((i) => ({ doctorId, clinicId, startTime: i.startTime, endTime: i.endTime })),
        });
      }),

    /** A slot of the doctor overlapping any of the intervals, if one exists. */
    findOverlapping: (doctorId: string, intervals: SlotInterval[]) =>
      prisma.slot.findFirst({
        where: { doctorId, OR: intervals.map((i) => ({ startTime: { lt: i.endTime }, endTime: { gt: i.startTime } })) },
        orderBy: { startTime: 'asc' },
      }),

    findById: (id: string) => prisma.slot.findUnique({ where: { id } }),

    /** Open slots matching the search, in (start_time, id) order, after the keyset position. */
    searchOpen(search: SlotSearch, limit: number, after?: { startTime: Date; id: string }): Promise<Slot[]> {
      const filters = [
        Prisma.sql`s.status = 'open'`,
        Prisma.sql`s.start_time >= ${search.from}`,
        Prisma.sql`s.start_time < ${search.to}`,
      ];
      if (search.doctorId) filters.push(Prisma.sql`s.doctor_id = ${search.doctorId}::uuid`);
      if (search.clinicId) filters.push(Prisma.sql`s.clinic_id = ${search.clinicId}::uuid`);
      if (search.specialty) filters.push(Prisma.sql`s.doctor_id IN (SELECT d.id FROM doctor d WHERE d.specialty = ${search.specialty})`);
      if (after) filters.push(Prisma.sql`(s.start_time, s.id) > (${after.startTime}, ${after.id}::uuid)`);
      return prisma.$queryRaw<Slot[]>`
        SELECT ${SLOT_COLUMNS} FROM slot s
        WHERE ${Prisma.join(filters, ' AND ')}
        ORDER BY s.start_time, s.id
        LIMIT ${limit}`;
    },

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
