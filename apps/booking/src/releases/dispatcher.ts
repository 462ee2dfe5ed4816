import type { Logger } from 'pino';
import type { CallerContext, CatalogGateway } from '../catalog-gateway';
import type { ReleasesRepo, SlotRelease } from './repo';

export interface ReleaseDispatcherOptions {
  /** Longest wait between two tries of one release. */
  maxBackoffMs: number;
  /** How long a leased release is hidden from other dispatchers: longer than one catalog call. */
  leaseMs: number;
  batchSize?: number;
}

const FIRST_BACKOFF_MS = 200;

/** Exponential backoff, capped, with "equal jitter": a random wait between half and all of the ceiling. */
export function backoffMs(attempt: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, FIRST_BACKOFF_MS * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * Delivers the slot releases owed to catalog (the outbox). Each ReleaseSlot
 * carries the appointment id as claim id, so catalog only ever opens a slot
 * that this appointment still holds; a slot already open or held by another
 * claim counts as delivered.
 */
export function releaseDispatcher(repo: ReleasesRepo, catalog: CatalogGateway, log: Logger, options: ReleaseDispatcherOptions) {
  async function deliver(release: Pick<SlotRelease, 'id' | 'slotId' | 'claimId' | 'attempts'>, caller: CallerContext = {}): Promise<boolean> {
    try {
      const outcome = await catalog.releaseSlot(release.slotId, release.claimId, caller);
      await repo.markDone(release.id);
      log.info({ slotId: release.slotId, claimId: release.claimId, outcome }, 'slot release delivered');
      return true;
    } catch (err) {
      const delay = backoffMs(release.attempts, options.maxBackoffMs);
      await repo.retryAfter(release.id, delay, String(err));
      log.warn({ err, slotId: release.slotId, claimId: release.claimId, attempts: release.attempts, retryInMs: delay }, 'slot release failed');
      return false;
    }
  }

  return {
    /** Tries every due release once; returns how many were delivered. */
    async dispatchDue(): Promise<number> {
      const due = await repo.leaseDue(options.batchSize ?? 100, options.leaseMs);
      const results = await Promise.all(due.map((release) => deliver(release)));
      return results.filter(Boolean).length;
    },

    /**
     * Tries one owed release right away, after the transaction that owed it
     * committed. Never throws: whatever fails here, the release stays owed
     * and the loop delivers it. False when it was left to the loop.
     */
    async deliverNow(slotId: string, claimId: string, caller: CallerContext = {}): Promise<boolean> {
      try {
        const release = await repo.leaseOne(slotId, claimId, options.leaseMs);
        return release ? await deliver(release, caller) : false;
      } catch (err) {
        log.warn({ err, slotId, claimId }, 'immediate slot release failed; left to the dispatcher');
        return false;
      }
    },
  };
}

export type ReleaseDispatcher = ReturnType<typeof releaseDispatcher>;
