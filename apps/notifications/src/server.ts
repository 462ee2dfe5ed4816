import type pg from 'pg';
import type { Registry } from 'prom-client';
import type { BookingClient } from '@carebook/proto/booking';
import type { CatalogClient } from '@carebook/proto/catalog';
import { NotificationServiceService } from '@carebook/proto/notifications';
import { outageLog, pageTokens, pingDatabase, registration, serveServiceMetrics, startGrpcServer, type Logger, type ServerTls } from '@carebook/server';
import { NOTIFICATIONS_ACCESS } from './access';
import type { NotificationsPrisma } from './db';
import { sendLookups } from './delivery/lookups';
import { retryPolicy, JOB_MAX_ATTEMPTS } from './delivery/retry-policy';
import { messageDelivery, type ChannelSenders } from './delivery/send-notification';
import { startDeliveryWorker } from './delivery/worker';
import { feedApplier } from './feed/applier';
import { bookingFeed } from './feed/booking-feed';
import { startFeedConsumer } from './feed/consumer';
import { registerNotificationsMetrics } from './metrics';
import { notificationHandlers } from './notifications/handlers';
import { notificationsRepo } from './notifications/repo';
import { notificationsService } from './notifications/service';

export const NOTIFICATIONS_SERVICE_NAME = 'carebook.notifications.v1.NotificationService';
export const NOTIFICATIONS_ERROR_DOMAIN = 'notifications.carebook.dev';
/** The feed_cursor row of booking's appointment feed (seeded by the first migration). */
export const APPOINTMENT_FEED_CONSUMER = 'booking-appointment-events';

export interface NotificationsDeps {
  prisma: NotificationsPrisma;
  /** The pool under `prisma`: the feed's transactions, the send path and graphile-worker use it. */
  sql: pg.Pool;
  /** A booking client that sends the internal credential with every call (the feed requires it). */
  booking: BookingClient;
  catalog: CatalogClient;
  senders: ChannelSenders;
  log: Logger;
  metrics: Registry;
}

export interface NotificationsServiceOptions {
  host: string;
  port: number;
  shutdownGraceMs: number;
  pageTokenKeys: string[];
  maxRequestBytes: number;
  metricsAddress?: { host: string; port: number };
  reminderOffsetsMs: number[];
  maxAttempts: number;
  retryMaxBackoffMs: number;
  /** Send jobs run at a time (NOTIFY_JOB_CONCURRENCY). */
  jobConcurrency: number;
  /** Messages with providers at once (NOTIFY_SEND_CONCURRENCY): the most a crash duplicates. */
  sendConcurrency: number;
  workerStaleMs: number;
  /** How often idle workers look for messages that became due. */
  pollIntervalMs: number;
  feedMaxBackoffMs: number;
  bookingTimeoutMs: number;
  catalogTimeoutMs: number;
  /** How long a doctor and clinic found in catalog serve messages without asking again (NOTIFY_PLACE_CACHE_TTL_MS). */
  placeTtlMs: number;
  /** TLS of the server (NOTIFICATIONS_TLS_CERT_FILE, _KEY_FILE), mutual with a CA (NOTIFICATIONS_TLS_CA_FILE); plaintext without. */
  tls?: ServerTls;
}

export interface RunningNotifications {
  port: number;
  metricsPort: number | undefined;
  /** Stops following the feed, lets running sends finish, then stops the server. */
  shutdown(): Promise<void>;
}

/** Builds the notifications service on `deps` and starts its server, feed consumer and delivery workers. The database must be migrated, graphile-worker's schema too. */
export async function startNotificationsService(deps: NotificationsDeps, options: NotificationsServiceOptions): Promise<RunningNotifications> {
  const repo = notificationsRepo(deps.sql, deps.prisma);
  const bookingReachability = outageLog(deps.log, 'booking');
  const catalogReachability = outageLog(deps.log, 'catalog');
  const server = await startGrpcServer(
    {
      log: deps.log,
      errorDomain: NOTIFICATIONS_ERROR_DOMAIN,
      services: [
        registration(NOTIFICATIONS_SERVICE_NAME, NotificationServiceService, notificationHandlers(notificationsService(repo), pageTokens(options.pageTokenKeys)), NOTIFICATIONS_ACCESS),
      ],
      checkReady: () => pingDatabase(deps.prisma),
      shutdownGraceMs: options.shutdownGraceMs,
      maxRequestBytes: options.maxRequestBytes,
      metrics: deps.metrics,
      tls: options.tls,
    },
    options.host,
    options.port,
  );

  const applier = feedApplier(deps.sql, { consumer: APPOINTMENT_FEED_CONSUMER, reminderOffsetsMs: options.reminderOffsetsMs, jobMaxAttempts: JOB_MAX_ATTEMPTS });
  const feed = bookingFeed(deps.booking);
  const feedEvents = registerNotificationsMetrics(deps.metrics, {
    repo,
    cursor: () => applier.cursor(),
    latestPosition: (cursor) => feed.latestPosition(cursor, new Date(Date.now() + options.bookingTimeoutMs)),
  });
  const metrics = await serveServiceMetrics(deps.metrics, {
    pool: deps.sql,
    dependencies: { database: server.database, booking: bookingReachability, catalog: catalogReachability },
    address: options.metricsAddress,
    log: deps.log,
  });

  const deliver = messageDelivery({
    repo,
    lookups: sendLookups(deps.booking, deps.catalog, {
      bookingTimeoutMs: options.bookingTimeoutMs,
      catalogTimeoutMs: options.catalogTimeoutMs,
      placeTtlMs: options.placeTtlMs,
      bookingReachability,
      catalogReachability,
    }),
    senders: deps.senders,
    retry: retryPolicy(options.maxAttempts, options.retryMaxBackoffMs),
    sendConcurrency: options.sendConcurrency,
    log: deps.log,
  });
  const worker = await startDeliveryWorker(deps.sql, deliver, deps.log, {
    concurrency: options.jobConcurrency,
    pollIntervalMs: options.pollIntervalMs,
    staleMs: options.workerStaleMs,
  });
  const consumer = startFeedConsumer(feed, applier, deps.log, feedEvents, { maxBackoffMs: options.feedMaxBackoffMs });

  return {
    port: server.port,
    metricsPort: metrics?.port,
    async shutdown() {
      await consumer.stop();
      await worker.stop();
      await server.shutdown();
      await metrics?.close();
    },
  };
}
