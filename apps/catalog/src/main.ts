import { fileURLToPath } from 'node:url';
import { configOrExit, createLogger, createMetricsRegistry, exitOnSignals, migrateDatabase, startTracing, tracingOptions } from '@carebook/server';
import { catalogTransport, loadCatalogConfig } from './config';
import { createCatalogDatabase } from './db';
import { startCatalogServer } from './server';

const migrationsDir = fileURLToPath(new URL('../../../prisma/catalog/migrations', import.meta.url));

async function main(): Promise<void> {
  const config = configOrExit('catalog', () => loadCatalogConfig());
  const log = createLogger('catalog', config.LOG_LEVEL);
  // Off unless OTEL_TRACES_EXPORTER names an exporter (docs/operations.md, section 6).
  const tracing = await startTracing(tracingOptions(config, 'catalog', log));
  await migrateDatabase(config.CATALOG_DATABASE_URL, migrationsDir, log);
  const { prisma, sql } = createCatalogDatabase(config.CATALOG_DATABASE_URL, config.CATALOG_DB_POOL_SIZE);
  const server = await startCatalogServer(
    { prisma, sql, log, metrics: createMetricsRegistry('catalog') },
    {
      host: config.CATALOG_HOST,
      port: config.CATALOG_PORT,
      shutdownGraceMs: config.CATALOG_SHUTDOWN_GRACE_MS,
      internalTokens: config.CATALOG_INTERNAL_TOKEN,
      pageTokenKeys: config.CAREBOOK_PAGE_TOKEN_KEY,
      maxRequestBytes: config.CATALOG_MAX_REQUEST_BYTES,
      metricsAddress: config.CATALOG_METRICS_PORT === 0 ? undefined : { host: config.CATALOG_HOST, port: config.CATALOG_METRICS_PORT },
      slotHorizonDays: config.CATALOG_SLOT_HORIZON_DAYS,
      materialiseIntervalMs: config.CATALOG_MATERIALISE_INTERVAL_MS,
      holdReopenIntervalMs: config.CATALOG_HOLD_REOPEN_INTERVAL_MS,
      ...catalogTransport(config),
    },
  );
  exitOnSignals(async () => {
    await server.shutdown();
    await prisma.$disconnect();
    await tracing.shutdown();
  }, log);
}

main().catch((err) => {
  process.stderr.write(`catalog: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
