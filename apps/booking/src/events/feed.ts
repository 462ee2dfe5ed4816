import { FailedPreconditionError, InvalidArgumentError } from '@carebook/server';
import type { FeedSignal } from './feed-signal';
import type { AppointmentEventsRepo, StoredEvent } from './repo';

export interface FeedPage {
  events: StoredEvent[];
  latest: number;
}

/** Where a watch writes its events; resolves once the event is handed to the transport (after backpressure). */
export type EventSink = (event: StoredEvent) => Promise<void>;

export interface FeedOptions {
  /** How often a watcher reads the feed without being told it grew: the fallback when notifications are lost. */
  pollMs: number;
  /** Events read per query while replaying. */
  batchSize: number;
}

/**
 * The appointment event feed as readers see it. Positions are dense and
 * given in commit order (repo.ts), so reading "after n" can never skip an
 * event: everything at or before the latest position is committed.
 */
export function appointmentFeed(repo: AppointmentEventsRepo, signal: FeedSignal, options: FeedOptions) {
  /** Refuses a cursor retention has passed, or one beyond the feed's end. */
  async function checkCursor(after: number): Promise<number> {
    const { prunedThrough, latest } = await repo.bounds();
    if (after < prunedThrough) {
      throw new FailedPreconditionError(
        `position ${after} is older than the feed's retention: events through ${prunedThrough} were deleted; start again from a newer position`,
        'CURSOR_EXPIRED',
        { after_position: String(after), oldest_position: String(prunedThrough + 1) },
      );
    }
    if (after > latest) throw new InvalidArgumentError([{ field: 'after_position', description: `is beyond the feed's latest position ${latest}` }]);
    return latest;
  }

  return {
    async page(after: number, limit: number): Promise<FeedPage> {
      const latest = await checkCursor(after);
      return { events: await repo.listAfter(after, limit), latest };
    },

    /**
     * Sends every event after `after`, then each new one as the feed grows,
     * until `stop` aborts. Reads are triggered by the feed signal, and by a
     * poll every pollMs in case a notification was lost.
     */
    async watch(after: number, sink: EventSink, stop: AbortSignal): Promise<void> {
      let cursor = after;
      await checkCursor(cursor);
      let wake: (() => void) | undefined;
      let grew = false;
      const unsubscribe = signal.subscribe(() => {
        grew = true;
        wake?.();
      });
      const onAbort = () => wake?.();
      stop.addEventListener('abort', onAbort);
      try {
        while (!stop.aborted) {
          grew = false;
          const events = await repo.listAfter(cursor, options.batchSize);
          for (const event of events) {
            if (stop.aborted) return;
            await sink(event);
            cursor = event.position;
          }
          if (events.length === options.batchSize || grew) continue;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, options.pollMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      } finally {
        unsubscribe();
        stop.removeEventListener('abort', onAbort);
      }
    },
  };
}

export type AppointmentFeed = ReturnType<typeof appointmentFeed>;
