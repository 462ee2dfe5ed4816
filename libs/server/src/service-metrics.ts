import type pg from 'pg';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { startMetricsServer, type MetricsServer } from './metrics-server';
import type { OutageLog } from './outage-log';

// Metrics every service has besides the gRPC ones (grpc-metrics.ts): its
// pool, its dependencies' reachability, and gauges read from its database.

/** What every service's metrics show besides its own gauges, and where they are served. */
export interface ServiceMetricsOptions {
  /** The service's PostgreSQL pool. */
  pool: Pick<pg.Pool, 'totalCount' | 'idleCount' | 'waitingCount'>;
  /** Each dependency's reachability by name: `database` always, others (catalog) where the service has them. */
  dependencies: Record<string, Pick<OutageLog, 'down'>>;
  /** Where to serve GET /metrics (port 0 picks one); unset: not served. */
  address: { host: string; port: number } | undefined;
  log: Logger;
}

/**
 * Registers what every service shows (its pool, its dependencies'
 * reachability) beside the gauges the service registered itself, and serves
 * `registry` if an address is given.
 */
export async function serveServiceMetrics(registry: Registry, options: ServiceMetricsOptions): Promise<MetricsServer | undefined> {
  registerDependencyUp(registry, options.dependencies);
  registerPoolMetrics(registry, options.pool);
  return options.address && startMetricsServer(registry, options.address.host, options.address.port, options.log);
}

/** `carebook_dependency_up{dependency}` for each named dependency: 1 while it answers, 0 from the first failed call of an outage to the next answer. */
function registerDependencyUp(registry: Registry, dependencies: Record<string, Pick<OutageLog, 'down'>>): void {
  new Gauge({
    name: 'carebook_dependency_up',
    help: 'Whether the dependency answered the last call made to it (1) or the last call found it unreachable (0).',
    labelNames: ['dependency'],
    registers: [registry],
    collect() {
      for (const [dependency, reachability] of Object.entries(dependencies)) this.set({ dependency }, reachability.down ? 0 : 1);
    },
  });
}

/** The database pool's connections: open and idle ones, and queries waiting for one. */
function registerPoolMetrics(registry: Registry, pool: Pick<pg.Pool, 'totalCount' | 'idleCount' | 'waitingCount'>): void {
  new Gauge({
    name: 'carebook_db_pool_connections',
    help: "Connections of the service's PostgreSQL pool, by state (open: all of them; idle: open and unused).",
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'open' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
    },
  });
  new Gauge({
    name: 'carebook_db_pool_waiting_queries',
    help: 'Queries waiting for a free connection of the pool.',
    registers: [registry],
    collect() {
      this.set(pool.waitingCount);
    },
  });
}

/**
 * A gauge whose value is read from the database when scraped. A failed read
 * (the database is down) leaves the last value and is not an error of the
 * scrape: carebook_dependency_up and the logs say the database is down.
 */
export function databaseGauge(registry: Registry, name: string, help: string, read: () => Promise<number>): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      const value = await read().catch(() => undefined);
      if (value !== undefined) this.set(value);
    },
  });
}
