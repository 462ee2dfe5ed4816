import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../libs/testing/src/ports';
import { startServiceProcess, type ServiceProcess } from '../libs/testing/src/service-process';

const root = fileURLToPath(new URL('..', import.meta.url));
type App = 'catalog' | 'booking' | 'notifications';
const bundled = new Map<App, Promise<void>>();

/**
 * Builds a service's production bundle (scripts/build-app.mjs), once per
 * run: the benchmark measures what the Dockerfiles run, not tsx compiling
 * TypeScript in the process (which alone holds some 60 MB more).
 */
export function buildBundle(app: App): Promise<void> {
  let build = bundled.get(app);
  if (!build) {
    build = promisify(execFile)(process.execPath, ['scripts/build-app.mjs', app], { cwd: root }).then(() => undefined);
    bundled.set(app, build);
  }
  return build;
}

/** Builds catalog's and booking's production bundles, once per run. */
export function buildBundles(): Promise<void> {
  return Promise.all([buildBundle('catalog'), buildBundle('booking')]).then(() => undefined);
}

/** NODE_OPTIONS that make a process write a V8 CPU profile into `dir` when it stops; none without `dir`. */
async function profilingEnv(dir: string | undefined): Promise<Record<string, string>> {
  if (!dir) return {};
  await mkdir(resolve(dir), { recursive: true });
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${resolve(dir)}`.trim() };
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
  const profiling = await profilingEnv(options.cpuProfDir);
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

/**
 * Starts notifications as its production bundle, on `databaseUrl`, following
 * the feed of `services.booking` and sending e-mail to `smtpUrl`; SMS through
 * the log adapter, LOG_LEVEL=warn, `env` on top (its reminder offsets), its
 * other settings at their defaults. Only the reminders scenario starts it, so
 * the other scenarios' figures do not include it.
 */
export async function startNotifications(options: {
  services: Services;
  databaseUrl: string;
  smtpUrl: string;
  pool: number;
  env: Record<string, string>;
  /** Where it writes a V8 CPU profile when it stops. */
  cpuProfDir?: string;
}): Promise<ServiceProcess> {
  await buildBundle('notifications');
  const port = await freePort();
  return startServiceProcess('notifications', port, {
    ...(await profilingEnv(options.cpuProfDir)),
    OTEL_TRACES_EXPORTER: 'none',
    LOG_LEVEL: 'warn',
    NOTIFICATIONS_PORT: String(port),
    NOTIFICATIONS_DATABASE_URL: options.databaseUrl,
    NOTIFICATIONS_DB_POOL_SIZE: String(options.pool),
    BOOKING_ADDRESS: options.services.booking.address,
    CATALOG_ADDRESS: options.services.catalog.address,
    NOTIFY_SMTP_URL: options.smtpUrl,
    NOTIFY_SMS_ADAPTER: 'log',
    ...options.env,
  }, 'bundle');
}
