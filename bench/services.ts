import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../libs/testing/src/ports';
import { startServiceProcess, type ServiceProcess } from '../libs/testing/src/service-process';

const root = fileURLToPath(new URL('..', import.meta.url));
let bundled: Promise<void> | undefined;

/**
 * Builds both services' production bundles (scripts/build-app.mjs), once per
 * run: the benchmark measures what the Dockerfiles run, not tsx compiling
 * TypeScript in the process (which alone holds some 60 MB more).
 */
export function buildBundles(): Promise<void> {
  bundled ??= Promise.all(
    (['catalog', 'booking'] as const).map((app) => promisify(execFile)(process.execPath, ['scripts/build-app.mjs', app], { cwd: root })),
  ).then(() => undefined);
  return bundled;
}

/** catalog and booking as real OS processes running their production bundles, as in production. */
export interface Services {
  catalog: ServiceProcess;
  booking: ServiceProcess;
  stop(): Promise<void>;
}

/**
 * Starts catalog on `catalogUrl` and (unless `bookingUrl` is undefined)
 * booking on `bookingUrl`, each with `pool` database connections and
 * LOG_LEVEL=warn, otherwise with their default settings. With `cpuProfDir`, both write a V8 CPU profile there when
 * they stop.
 */
export async function startServices(options: {
  catalogUrl: string;
  bookingUrl: string;
  pool: number;
  cpuProfDir?: string;
  /** booking's deadline for catalog calls; unset: the service's default. */
  catalogTimeoutMs?: number;
  /** More environment for both services (the tracing scenario's OTEL_* variables). */
  env?: Record<string, string>;
}): Promise<Services> {
  const profiling: Record<string, string> = {};
  if (options.cpuProfDir) {
    const dir = resolve(options.cpuProfDir);
    await mkdir(dir, { recursive: true });
    profiling.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${dir}`.trim();
  }
  await buildBundles();
  const [catalogPort, bookingPort] = await Promise.all([freePort(), freePort()]);
  // Untraced unless asked, whatever the shell's OTEL_* variables say.
  const env = { OTEL_TRACES_EXPORTER: 'none', ...options.env };
  const catalog = await startServiceProcess('catalog', catalogPort, {
    ...profiling,
    ...env,
    LOG_LEVEL: 'warn',
    CATALOG_PORT: String(catalogPort),
    CATALOG_DATABASE_URL: options.catalogUrl,
    CATALOG_DB_POOL_SIZE: String(options.pool),
  }, 'bundle');
  let booking: ServiceProcess;
  try {
    booking = await startServiceProcess('booking', bookingPort, {
      ...profiling,
      ...env,
      LOG_LEVEL: 'warn',
      BOOKING_PORT: String(bookingPort),
      BOOKING_DATABASE_URL: options.bookingUrl,
      BOOKING_DB_POOL_SIZE: String(options.pool),
      CATALOG_ADDRESS: catalog.address,
      ...(options.catalogTimeoutMs
        ? { CATALOG_RPC_TIMEOUT_MS: String(options.catalogTimeoutMs), BOOKING_RECONCILE_GRACE_MS: String(options.catalogTimeoutMs * 3) }
        : {}),
    }, 'bundle');
  } catch (err) {
    await catalog.stop('SIGKILL');
    throw err;
  }
  return {
    catalog,
    booking,
    async stop() {
      // SIGTERM: a graceful stop, which also lets --cpu-prof write its profile.
      await Promise.all([booking.stop('SIGTERM'), catalog.stop('SIGTERM')]);
    },
  };
}

/** Each service's pid, by name. */
export const servicePids = (services: Services): Record<'catalog' | 'booking', number | undefined> => ({
  catalog: services.catalog.pid,
  booking: services.booking.pid,
});

/** Starts catalog alone (for search at another data-set scale). */
export async function startCatalogOnly(options: { catalogUrl: string; pool: number }): Promise<ServiceProcess> {
  await buildBundles();
  const port = await freePort();
  return startServiceProcess('catalog', port, {
    LOG_LEVEL: 'warn',
    CATALOG_PORT: String(port),
    CATALOG_DATABASE_URL: options.catalogUrl,
    CATALOG_DB_POOL_SIZE: String(options.pool),
  }, 'bundle');
}
