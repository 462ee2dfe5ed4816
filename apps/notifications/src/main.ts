import { fileURLToPath } from 'node:url';
import { runMigrations } from 'graphile-worker';
import { createBookingClient } from '@carebook/proto/booking';
import { createCatalogClient } from '@carebook/proto/catalog';
import { withBearerToken } from '@carebook/proto/client';
import {
  channelCredentials,
  clientChannelOptions,
  configOrExit,
  createLogger,
  createMetricsRegistry,
  exitOnSignals,
  grpcClientMetrics,
  migrateDatabase,
  startTracing,
  tracingOptions,
  type ClientTls,
} from '@carebook/server';
import { loadNotificationsConfig, notificationsTransport } from './config';
import { createNotificationsDatabase } from './db';
import { channelSenders } from './delivery/channel-senders';
import { startNotificationsService } from './server';

const migrationsDir = fileURLToPath(new URL('../../../prisma/notifications/migrations', import.meta.url));

async function main(): Promise<void> {
  const config = configOrExit('notifications', () => loadNotificationsConfig());
  const log = createLogger('notifications', config.LOG_LEVEL);
  // Off unless OTEL_TRACES_EXPORTER names an exporter (docs/operations.md, section 6).
  const tracing = await startTracing(tracingOptions(config, 'notifications', log));
  await migrateDatabase(config.NOTIFICATIONS_DATABASE_URL, migrationsDir, log);
  const { prisma, sql } = createNotificationsDatabase(config.NOTIFICATIONS_DATABASE_URL, config.NOTIFICATIONS_DB_POOL_SIZE);
  // The job queue's schema is graphile-worker's own, migrated by the library.
  await runMigrations({ pgPool: sql });
  const metrics = createMetricsRegistry('notifications');
  // One interceptor counts both clients' calls (its counters are registered once).
  const countCalls = grpcClientMetrics(metrics);
  const { tls, bookingTls, catalogTls } = notificationsTransport(config);
  const clientOptions = (clientTls: ClientTls | undefined, token?: string) => {
    const base = clientChannelOptions(clientTls);
    const withToken = token ? withBearerToken(token, base) : base;
    return { ...withToken, interceptors: [...(withToken.interceptors ?? []), countCalls] };
  };
  // booking's feed needs its internal credential (and, under mutual TLS, an
  // identity booking lists in BOOKING_INTERNAL_CALLERS); the other calls accept it too.
  const booking = createBookingClient(config.BOOKING_ADDRESS, clientOptions(bookingTls, config.BOOKING_INTERNAL_TOKEN[0]), channelCredentials(bookingTls));
  const catalog = createCatalogClient(config.CATALOG_ADDRESS, clientOptions(catalogTls), channelCredentials(catalogTls));
  const senders = channelSenders(config, log);
  const service = await startNotificationsService(
    { prisma, sql, booking, catalog, senders, log, metrics },
    {
      host: config.NOTIFICATIONS_HOST,
      port: config.NOTIFICATIONS_PORT,
      shutdownGraceMs: config.NOTIFICATIONS_SHUTDOWN_GRACE_MS,
      pageTokenKeys: config.CAREBOOK_PAGE_TOKEN_KEY,
      maxRequestBytes: config.NOTIFICATIONS_MAX_REQUEST_BYTES,
      metricsAddress: config.NOTIFICATIONS_METRICS_PORT === 0 ? undefined : { host: config.NOTIFICATIONS_HOST, port: config.NOTIFICATIONS_METRICS_PORT },
      reminderOffsetsMs: config.NOTIFY_REMINDER_OFFSETS,
      maxAttempts: config.NOTIFY_MAX_ATTEMPTS,
      retryMaxBackoffMs: config.NOTIFY_RETRY_MAX_BACKOFF_MS,
      jobConcurrency: config.NOTIFY_JOB_CONCURRENCY,
      sendConcurrency: config.NOTIFY_SEND_CONCURRENCY,
      workerStaleMs: config.NOTIFY_WORKER_STALE_MS,
      pollIntervalMs: config.NOTIFY_POLL_INTERVAL_MS,
      feedMaxBackoffMs: config.NOTIFY_FEED_MAX_BACKOFF_MS,
      bookingTimeoutMs: config.BOOKING_RPC_TIMEOUT_MS,
      catalogTimeoutMs: config.CATALOG_RPC_TIMEOUT_MS,
      placeTtlMs: config.NOTIFY_PLACE_CACHE_TTL_MS,
      tls,
    },
  );
  exitOnSignals(async () => {
    await service.shutdown();
    await Promise.all(Object.values(senders).map((sender) => sender.close()));
    booking.close();
    catalog.close();
    await prisma.$disconnect();
    await tracing.shutdown();
  }, log);
}

main().catch((err) => {
  process.stderr.write(`notifications: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
