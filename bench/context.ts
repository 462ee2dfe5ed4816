import pg from 'pg';
import type { BenchServer } from './database';
import type { Dataset } from './dataset';
import type { LoadResult } from './load';
import type { BenchOptions } from './options';
import type { Services } from './services';

/** What every scenario gets. */
export interface BenchContext {
  options: BenchOptions;
  server: BenchServer;
  dataset: Dataset;
  catalogUrl: string;
  bookingUrl: string;
  services: Services;
  /** Small pools for the harness's own set-up and checks (not measured). */
  catalogSql: pg.Pool;
  bookingSql: pg.Pool;
  /** Specialties present in the data set. */
  specialties: string[];
  /** Patient ids to book for. */
  patients: string[];
  /** Open future slots in random order, each handed out once. */
  slots: SlotSupply;
  /** Unique per run, for request ids. */
  runTag: string;
  /** A booked appointment made by the book scenario, for cancel-rebook. */
  booked: BookedAppointment[];
}

export interface BookedAppointment {
  id: string;
  slotId: string;
  patientId: string;
}

/** Hands out distinct open slots. */
export interface SlotSupply {
  next(): string | undefined;
  take(n: number): string[];
  remaining(): number;
  /** Takes back slots that are open again (a baseline reopened what it claimed), to be handed out again. */
  giveBack(ids: string[]): void;
}

export function slotSupply(initial: string[]): SlotSupply {
  // Handed out from the end; given-back slots go there too, and come out first.
  const ids = [...initial].reverse();
  return {
    next: () => ids.pop(),
    take: (n) => ids.splice(Math.max(0, ids.length - n)).reverse(),
    remaining: () => ids.length,
    giveBack(returned) {
      for (const id of returned) ids.push(id); // no spread: tens of thousands of ids
    },
  };
}

/** One scenario's figures, its baseline's, and how they compare. */
export interface ScenarioResult {
  name: string;
  title: string;
  skipped?: string;
  result?: LoadResult;
  baseline?: { name: string; description: string; result: LoadResult };
  /** Scenario throughput ÷ baseline throughput. */
  throughputRatio?: number | null;
  /** Scenario p99 ÷ baseline p99. */
  p99Ratio?: number | null;
  /** Scenario throughput ÷ the no-op gRPC call's throughput at the same concurrency. */
  noopRatio?: number | null;
  /** CPU used during the measured scenario, in cores (1.0 = one core busy), by process. */
  cpuCores?: Record<string, number>;
  /** CPU milliseconds per operation, by process. */
  cpuMsPerOp?: Record<string, number>;
  /** Each service's peak RSS during the scenario, in MB. */
  peakRssMb?: Record<string, number>;
  /** The busiest statements while the scenario ran (pg_stat_statements), when available. */
  topStatements?: TopStatement[];
  extra?: Record<string, unknown>;
  /** Broken expectations (not timings): a wrong winner count, unexpected errors. */
  failures: string[];
}

export interface TopStatement {
  query: string;
  calls: number;
  meanMs: number;
  totalMs: number;
  rows: number;
  sharedHit: number;
  sharedRead: number;
}

/** Picks a random element. */
export const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];

/** A pg pool of `max` connections with the services' session settings (their 5 s statement timeout unless `statementTimeoutMs` says otherwise; 0: none). */
export function benchPool(url: string, max: number, statementTimeoutMs = 5_000): pg.Pool {
  const options = `-c statement_timeout=${statementTimeoutMs} -c TimeZone=UTC`;
  const pool = new pg.Pool({ connectionString: url, max, options, connectionTimeoutMillis: 60_000 });
  // An idle connection ended by the server (its shutdown at the end of a run)
  // is not a failure of the run; errors of queries reach their callers.
  pool.on('error', () => undefined);
  return pool;
}

/** Opens all `max` connections of a pool now, so that connecting is not measured. */
export async function warmPool(pool: pg.Pool, max: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: max }, () => pool.connect()));
  clients.forEach((c) => c.release());
}
