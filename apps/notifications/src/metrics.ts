import { Counter, type Registry } from 'prom-client';
import { databaseGauge } from '@carebook/server';
import type { FeedConsumerEvents } from './feed/consumer';
import type { NotificationsRepo } from './notifications/repo';

// notifications' own gauges, read at each scrape: the feed cursor and how
// far it trails booking's feed, and the messages due and overdue, all by the
// database's clock.

/** Shares one `read` among the callers that ask while it runs, so a scrape's gauges run its query once. */
function shared<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= read().finally(() => (running = undefined));
    return running;
  };
}

export interface NotificationsMetricsSources {
  repo: Pick<NotificationsRepo, 'dueStats'>;
  cursor(): Promise<number>;
  /** booking's latest feed position, asked with the cursor; rejects when booking does not answer (the gauge keeps its last value). */
  latestPosition(cursor: number): Promise<number>;
}

/** Registers the feed and due-message gauges; returns the consumer's event sink that counts lost events. */
export function registerNotificationsMetrics(registry: Registry, sources: NotificationsMetricsSources): FeedConsumerEvents {
  const due = shared(() => sources.repo.dueStats());
  databaseGauge(registry, 'carebook_notifications_feed_cursor_position', "Position of the last event of booking's feed applied.", () => sources.cursor());
  databaseGauge(registry, 'carebook_notifications_feed_lag_events', "Events of booking's feed not yet applied: booking's latest position less the cursor.", async () => {
    const cursor = await sources.cursor();
    return Math.max(0, (await sources.latestPosition(cursor)) - cursor);
  });
  databaseGauge(registry, 'carebook_notifications_due', 'Messages SCHEDULED whose time has come (the database clock): being sent, or waiting for a worker.', async () => (await due()).due);
  databaseGauge(registry, 'carebook_notifications_overdue', 'Messages SCHEDULED whose time passed over a minute ago: workers are behind, or a provider is down.', async () => (await due()).overdue);
  const lost = new Counter({
    name: 'carebook_notifications_feed_events_lost_total',
    help: 'Feed events skipped because the cursor expired (CURSOR_EXPIRED): their messages are never sent.',
    registers: [registry],
  });
  return { skipped: (from, to) => lost.inc(to - from) };
}
