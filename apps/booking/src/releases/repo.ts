import { selectList, type ColumnsOf } from '@carebook/server';
import { Prisma, type SlotRelease } from '../generated/prisma/client';
import type { BookingPrisma } from '../db';

export type { SlotRelease };

/**
 * Records that catalog is owed the release of `slotId` held by `claimId`;
 * part of the caller's transaction. The new release is kept for the caller's
 * immediate attempt (deliverNow) for `reservedMs`: the loop could otherwise
 * lease it between the commit and that attempt, and the slot would open only
 * on the loop's turn, after the cancellation had been answered (seen in the
 * benchmark as a rebook refused right after a cancel). Never tried (attempts
 * 0) and not yet due marks it as reserved; if the caller dies first, the loop
 * delivers it once the reservation ends. A release of the same slot and claim
 * still owed is left as it is; one already delivered is owed again (the claim
 * was taken again since, by a slot conflict's re-claim).
 */
export async function enqueueRelease(tx: Prisma.TransactionClient | BookingPrisma, slotId: string, claimId: string, reservedMs: number): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO slot_release (slot_id, claim_id, next_attempt_at)
    VALUES (${slotId}::uuid, ${claimId}::uuid, now() + make_interval(secs => ${reservedMs}::float8 / 1000))
    ON CONFLICT (slot_id, claim_id) DO UPDATE
      SET done_time = NULL, attempts = 0, last_error = NULL, next_attempt_at = EXCLUDED.next_attempt_at
      WHERE slot_release.done_time IS NOT NULL`;
}

/** A leased release: only what delivering it needs. */
export type LeasedRelease = Pick<SlotRelease, 'id' | 'slotId' | 'claimId' | 'attempts'>;

/** The columns of a LeasedRelease, exactly its fields; test/row-columns.test.ts checks them against schema.prisma. */
export const LEASED_RELEASE_FIELDS: ColumnsOf<LeasedRelease> = { id: 'id', slotId: 'slot_id', claimId: 'claim_id', attempts: 'attempts' };

const COLUMNS = Prisma.raw(selectList(LEASED_RELEASE_FIELDS));

/** The outbox of slot releases owed to catalog. */
export function releasesRepo(prisma: BookingPrisma) {
  return {
    /**
     * Leases up to `limit` due releases for `leaseMs`: another dispatcher
     * (this process or another replica) skips them until the lease ends, so
     * a crashed dispatcher's work is picked up again. One statement, no
     * transaction held across the catalog call.
     */
    leaseDue: (limit: number, leaseMs: number) =>
      prisma.$queryRaw<LeasedRelease[]>`
        UPDATE slot_release SET next_attempt_at = now() + make_interval(secs => ${leaseMs}::float8 / 1000), attempts = attempts + 1
        WHERE id IN (SELECT id FROM slot_release WHERE done_time IS NULL AND next_attempt_at <= now()
                     ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        RETURNING ${COLUMNS}`,

    /** Leases the release of one slot and claim now, if it is owed and due, or new and reserved for this attempt (enqueueRelease). */
    leaseOne: async (slotId: string, claimId: string, leaseMs: number): Promise<LeasedRelease | undefined> => {
      const rows = await prisma.$queryRaw<LeasedRelease[]>`
        UPDATE slot_release SET next_attempt_at = now() + make_interval(secs => ${leaseMs}::float8 / 1000), attempts = attempts + 1
        WHERE slot_id = ${slotId}::uuid AND claim_id = ${claimId}::uuid AND done_time IS NULL AND (next_attempt_at <= now() OR attempts = 0)
        RETURNING ${COLUMNS}`;
      return rows[0];
    },

    // Every time in slot_release is the database's (now()), the clock its
    // due times and leases are compared with: a process whose clock is off
    // neither retries early nor stalls a release.

    /** Records that catalog confirmed the release. */
    markDone: async (id: string): Promise<void> => {
      await prisma.$executeRaw`UPDATE slot_release SET done_time = now(), last_error = NULL WHERE id = ${id}::uuid`;
    },

    /** Makes the release due again `delayMs` after now by the database's clock, keeping the error. */
    retryAfter: async (id: string, delayMs: number, error: string): Promise<void> => {
      await prisma.$executeRaw`
        UPDATE slot_release SET next_attempt_at = now() + make_interval(secs => ${delayMs}::float8 / 1000), last_error = ${error.slice(0, 1000)}
        WHERE id = ${id}::uuid`;
    },

    /** How many releases are owed, and the age of the oldest in seconds by the database's clock (0 when none). */
    async owedStats(): Promise<{ count: number; oldestAgeSeconds: number }> {
      const [row] = await prisma.$queryRaw<{ count: number; oldestAgeSeconds: number }[]>`
        SELECT count(*)::int AS count, coalesce(extract(epoch FROM now() - min(create_time)), 0)::float8 AS "oldestAgeSeconds"
        FROM slot_release WHERE done_time IS NULL`;
      return row;
    },
  };
}

export type ReleasesRepo = ReturnType<typeof releasesRepo>;
