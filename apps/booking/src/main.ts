import { fileURLToPath } from 'node:url';
import { createCatalogClient } from '@carebook/proto/catalog';
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
} from '@carebook/server';
import { bookingTransport, loadBookingConfig } from './config';
import { jitsiRooms } from './consultations/jitsi-rooms';
import { createBookingDatabase } from './db';
import { startBookingService } from './server';

const migrationsDir = fileURLToPath(new URL('../../../prisma/booking/migrations', import.meta.url));

async function main(): Promise<void> {
  const config = configOrExit('booking', () => loadBookingConfig());
  const log = createLogger('booking', config.LOG_LEVEL);
  // Off unless OTEL_TRACES_EXPORTER names an exporter (docs/operations.md, section 6).
  const tracing = await startTracing(tracingOptions(config, 'booking', log));
  await migrateDatabase(config.BOOKING_DATABASE_URL, migrationsDir, log);
  const { prisma, sql } = createBookingDatabase(config.BOOKING_DATABASE_URL, config.BOOKING_DB_POOL_SIZE);
  const metrics = createMetricsRegistry('booking');
  const { tls, catalogTls } = bookingTransport(config);
  const catalog = createCatalogClient(
    config.CATALOG_ADDRESS,
    {
      ...clientChannelOptions(catalogTls),
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      interceptors: [grpcClientMetrics(metrics)],
    },
    channelCredentials(catalogTls),
  );
  const { BOOKING_VIDEO_JWT_APP_ID: appId, BOOKING_VIDEO_JWT_SECRET: secret } = config;
  const videoRooms = jitsiRooms({ baseUrl: config.BOOKING_VIDEO_BASE_URL, jwt: appId && secret ? { appId, secret } : undefined });
  const service = await startBookingService(
    { prisma, sql, catalog, log, metrics, databaseUrl: config.BOOKING_DATABASE_URL, videoRooms },
    {
      host: config.BOOKING_HOST,
      port: config.BOOKING_PORT,
      shutdownGraceMs: config.BOOKING_SHUTDOWN_GRACE_MS,
      catalogTimeoutMs: config.CATALOG_RPC_TIMEOUT_MS,
      catalogInternalToken: config.CATALOG_INTERNAL_TOKEN[0],
      internalTokens: config.BOOKING_INTERNAL_TOKEN,
      internalCallers: config.BOOKING_INTERNAL_CALLERS,
      adminCallers: config.BOOKING_ADMIN_CALLERS,
      eventRetentionDays: config.BOOKING_EVENT_RETENTION_DAYS,
      eventSequenceIntervalMs: config.BOOKING_EVENT_SEQUENCE_INTERVAL_MS,
      eventPollMs: config.BOOKING_EVENT_POLL_MS,
      pageTokenKeys: config.CAREBOOK_PAGE_TOKEN_KEY,
      maxRequestBytes: config.BOOKING_MAX_REQUEST_BYTES,
      reconcileGraceMs: config.BOOKING_RECONCILE_GRACE_MS,
      clockSkewBoundMs: config.BOOKING_CLOCK_SKEW_BOUND_MS,
      reconcileIntervalMs: config.BOOKING_RECONCILE_INTERVAL_MS,
      releaseIntervalMs: config.BOOKING_RELEASE_INTERVAL_MS,
      releaseMaxBackoffMs: config.BOOKING_RELEASE_MAX_BACKOFF_MS,
      video: {
        opensBeforeMs: config.BOOKING_VIDEO_OPENS_BEFORE_MS,
        graceMs: config.BOOKING_VIDEO_GRACE_MS,
        intervalMs: config.BOOKING_VIDEO_INTERVAL_MS,
        maxBackoffMs: config.BOOKING_VIDEO_MAX_BACKOFF_MS,
      },
      takenSlotMemoryMs: config.BOOKING_TAKEN_SLOT_MEMORY_MS,
      metricsAddress: config.BOOKING_METRICS_PORT === 0 ? undefined : { host: config.BOOKING_HOST, port: config.BOOKING_METRICS_PORT },
      tls,
    },
  );
  exitOnSignals(async () => {
    await service.shutdown();
    catalog.close();
    await prisma.$disconnect();
    await tracing.shutdown();
  }, log);
}

main().catch((err) => {
  process.stderr.write(`booking: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
