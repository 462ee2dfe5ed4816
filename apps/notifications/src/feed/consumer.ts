import type { Logger } from '@carebook/server';
import { isServiceError, outageLog, readStatusDetails } from '@carebook/server';
import type { FeedApplier } from './applier';
import { CursorExpired, type AppointmentFeed } from './booking-feed';

// Follows booking's feed from the durable cursor: one stream at a time; when
// it ends or fails, the consumer waits (capped exponential backoff, with
// jitter so that replicas do not reconnect in step) and opens another from
// the cursor as stored, never from what it last saw in memory. Events go to
// the applier one by one; a gap ends the stream and reading starts again
// from the cursor.

/** What the consumer reports, for metrics. */
export interface FeedConsumerEvents {
  /** A CURSOR_EXPIRED jump left the events after `from` up to and including `to` unapplied. */
  skipped(from: number, to: number): void;
}

export interface FeedConsumerOptions {
  maxBackoffMs: number;
  /** First wait after a failure; doubled each failure in a row up to maxBackoffMs. */
  minBackoffMs?: number;
}

export interface FeedConsumer {
  /** Ends the current stream and waits for the event being applied. */
  stop(): Promise<void>;
}

/** The stream was cut because the booking replica is stopping: a reconnect (to another replica) goes on at once, and nothing is wrong. */
const replicaStopping = (err: unknown) => isServiceError(err) && readStatusDetails(err).errorInfo?.reason === 'SHUTTING_DOWN';

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** Starts following `feed` into `applier`. */
export function startFeedConsumer(feed: AppointmentFeed, applier: FeedApplier, log: Logger, events: FeedConsumerEvents, options: FeedConsumerOptions): FeedConsumer {
  const stopping = new AbortController();
  const booking = outageLog(log, 'booking feed');
  const minBackoffMs = options.minBackoffMs ?? 100;
  let failures = 0;

  // One stream from the stored cursor; resolves when it ends or a gap ends
  // it, with whether any event was applied (a stream that keeps ending at
  // once is waited for like a failure).
  const follow = async (): Promise<boolean> => {
    const cursor = await applier.cursor();
    let progressed = false;
    for await (const event of feed.watch(cursor, stopping.signal)) {
      const outcome = await applier.apply(event);
      booking.succeeded();
      if (outcome.kind === 'gap') {
        log.warn({ position: event.position, cursor: outcome.cursor }, 'feed skipped ahead of the cursor; reading again from the cursor');
        return progressed;
      }
      progressed ||= outcome.kind === 'applied';
      failures = 0;
    }
    return progressed;
  };

  // Documented choice (docs: notifications, CURSOR_EXPIRED): the events
  // between the cursor and the oldest one booking still holds are gone for
  // good. Waiting would stop every later message; so the consumer logs the
  // lost range at error level, counts it, and carries on from the oldest.
  const jumpOver = async (expired: CursorExpired): Promise<void> => {
    if (expired.oldestPosition === undefined) throw expired;
    const target = Math.max(expired.oldestPosition - 1, 0);
    const from = await applier.skipTo(target);
    if (target <= from) return;
    log.error({ skippedFrom: from + 1, skippedTo: target, count: target - from }, 'feed cursor expired: events lost, their messages will not be sent');
    events.skipped(from, target);
  };

  const run = async () => {
    while (!stopping.signal.aborted) {
      try {
        if (!(await follow())) failures++;
      } catch (err) {
        if (stopping.signal.aborted) break;
        if (err instanceof CursorExpired && err.oldestPosition !== undefined) {
          await jumpOver(err).catch((e) => log.error({ err: e }, 'could not move the expired feed cursor'));
          continue;
        }
        if (replicaStopping(err)) {
          log.info('booking replica stopping; following the feed again from the cursor');
          continue;
        }
        if (err instanceof CursorExpired) log.error({ err }, 'feed cursor expired and booking did not say where the feed begins');
        else booking.failed(err);
        failures++;
      }
      if (stopping.signal.aborted) break;
      const cap = Math.min(options.maxBackoffMs, minBackoffMs * 2 ** Math.min(failures, 20));
      await sleep(failures === 0 ? 0 : cap / 2 + Math.random() * (cap / 2), stopping.signal);
    }
  };
  const running = run();

  return {
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
