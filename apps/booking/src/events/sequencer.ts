import type { FeedSignal } from './feed-signal';
import type { AppointmentEventsRepo } from './repo';

/**
 * Gives committed events their feed positions (repo.ts, sequence). One run
 * positions everything waiting, in batches; every booking replica runs it,
 * and the advisory lock lets one at a time through. Polled rather than
 * woken by a NOTIFY from each booking: NOTIFY takes a database-wide lock at
 * commit, which would queue every booking's commit behind the others'.
 */
export function eventSequencer(repo: AppointmentEventsRepo, signal: FeedSignal, batchSize: number) {
  return {
    /** Positions every waiting event; returns how many got one here. */
    async runOnce(): Promise<number> {
      let total = 0;
      while (await repo.hasUnpositioned()) {
        const result = await repo.sequence(batchSize);
        if (!result) break; // another replica is sequencing
        total += result.positioned;
        if (result.positioned > 0) signal.grew();
        if (result.positioned < batchSize) break;
      }
      return total;
    },
  };
}

export type EventSequencer = ReturnType<typeof eventSequencer>;
