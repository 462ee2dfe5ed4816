import type pg from 'pg';
import { Gauge, type Registry } from 'prom-client';
import type { OutageLog } from './outage-log';

// Metrics every service has besides the gRPC ones (grpc-metrics.ts): its
// pool, its dependencies' reachability, and gauges read from its database.

/** `carebook_dependency_up{dependency}` for each named dependency: 1 while it answers, 0 from the first failed call of an outage to the next answer. */
export function registerDependencyUp(registry: Registry, dependencies: Record<string, Pick<OutageLog, 'down'>>): void {
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
export function registerPoolMetrics(registry: Registry, pool: Pick<pg.Pool, 'totalCount' | 'idleCount' | 'waitingCount'>): void {
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
