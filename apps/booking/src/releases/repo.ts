import { Prisma, type SlotRelease } from '../generated/prisma/client';
import type { BookingPrisma } from '../db';

export type { SlotRelease };

/** Records that catalog is owed the release of `slotId` held by `claimId`; part of the caller's transaction. */
export async function enqueueRelease(tx: Prisma.TransactionClient, slotId: string, claimId: string): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO slot_release (slot_id, claim_id) VALUES (${slotId}::uuid, ${claimId}::uuid)
    ON CONFLICT (slot_id, claim_id) DO NOTHING`;
}

const COLUMNS = Prisma.sql`id, slot_id AS "slotId", claim_id AS "claimId", attempts`;

type LeasedRelease = Pick<SlotRelease, 'id' | 'slotId' | 'claimId' | 'attempts'>;

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

    /** Leases the release of one slot and claim now, if it is owed and not leased elsewhere. */
    leaseOne: async (slotId: string, claimId: string, leaseMs: number): Promise<LeasedRelease | undefined> => {
      const rows = await prisma.$queryRaw<LeasedRelease[]>`
        UPDATE slot_release SET next_attempt_at = now() + make_interval(secs => ${leaseMs}::float8 / 1000), attempts = attempts + 1
        WHERE slot_id = ${slotId}::uuid AND claim_id = ${claimId}::uuid AND done_time IS NULL AND next_attempt_at <= now()
        RETURNING ${COLUMNS}`;
      return rows[0];
    },

    markDone: (id: string) => prisma.slotRelease.update({ where: { id }, data: { doneTime: new Date(), lastError: null } }),

    retryAfter: (id: string, delayMs: number, error: string) =>
      prisma.slotRelease.update({ where: { id }, data: { nextAttemptAt: new Date(Date.now() + delayMs), lastError: error.slice(0, 1000) } }),

    /** Releases not yet confirmed by catalog. */
    countOwed: () => prisma.slotRelease.count({ where: { doneTime: null } }),
  };
}

export type ReleasesRepo = ReturnType<typeof releasesRepo>;
