import type { BenchContext, TopStatement } from './context';
import { withClient } from './database';
import type { LoadResult } from './load';
import { cpuShare, cpuSnapshot, peakRssMbOf, resetPeakRss, type WatchedProcesses } from './resources';
import { servicePids } from './services';
import { ratio } from './stats';

export interface Measured {
  result: LoadResult;
  cpuCores: Record<string, number>;
  cpuMsPerOp: Record<string, number>;
  /** Each service's peak RSS while `run` ran, in MB (VmHWM, reset when it started). */
  peakRssMb: Record<string, number>;
  topStatements?: TopStatement[];
}

function watched(ctx: BenchContext, extra: Record<string, number | undefined> = {}): WatchedProcesses {
  return { services: { ...servicePids(ctx.services), ...extra }, postgresPid: ctx.server.postgresPid };
}

/** Clears pg_stat_statements (the whole server's), when it is loaded. */
export async function resetStatements(ctx: BenchContext): Promise<void> {
  if (!ctx.server.statStatements) return;
  await withClient(ctx.server.url('postgres'), (c) => c.query('SELECT pg_stat_statements_reset()')).catch(() => undefined);
}

/** The busiest statements of `databases` since the last reset, by total time; undefined without pg_stat_statements. */
export async function topStatements(ctx: BenchContext, databases: string[]): Promise<TopStatement[] | undefined> {
  if (!ctx.server.statStatements) return undefined;
  return withClient(ctx.server.url('postgres'), async (c) => {
    const { rows } = await c.query<TopStatement>(
      `SELECT left(regexp_replace(s.query, '\\s+', ' ', 'g'), 240) AS query, s.calls::int AS calls,
              round(s.mean_exec_time::numeric, 3)::float8 AS "meanMs", round(s.total_exec_time::numeric, 1)::float8 AS "totalMs",
              s.rows::int AS rows, s.shared_blks_hit::int AS "sharedHit", s.shared_blks_read::int AS "sharedRead"
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
       WHERE d.datname = ANY($1) ORDER BY s.total_exec_time DESC LIMIT 6`,
      [databases],
    );
    return rows;
  }).catch(() => undefined);
}

/**
 * Runs `run` and returns its figures with the CPU each process used meanwhile
 * (services, PostgreSQL with all its backends, this load generator), each
 * service's peak RSS meanwhile and, when
 * pg_stat_statements is loaded, the busiest statements of the run's databases.
 */
export async function measure(ctx: BenchContext, run: () => Promise<LoadResult>, extraPids: Record<string, number | undefined> = {}): Promise<Measured> {
  await resetStatements(ctx);
  // Backends of a baseline's pool that just closed are reaped by the
  // postmaster shortly after; let that happen first, so that their CPU is
  // not counted in this window (the postmaster's cutime).
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const w = watched(ctx, extraPids);
  const services = servicePids(ctx.services);
  for (const pid of Object.values(services)) if (pid) resetPeakRss(pid);
  const before = cpuSnapshot(w);
  const t0 = performance.now();
  const result = await run();
  const wallMs = performance.now() - t0;
  const cpuCores = cpuShare(before, cpuSnapshot(w), wallMs);
  const cpuMsPerOp = Object.fromEntries(
    Object.entries(cpuCores).map(([name, cores]) => [name, result.ops ? Math.round(((cores * result.elapsedMs) / result.ops) * 1000) / 1000 : 0]),
  );
  const peakRssMb = peakRssMbOf(services);
  const top = await topStatements(ctx, [ctx.dataset.catalogDb, ctx.dataset.bookingDb, `${ctx.options.prefix}_peer`]);
  return { result, cpuCores, cpuMsPerOp, peakRssMb, topStatements: top };
}

/**
 * A scenario's measured figures as its result carries them, set against its
 * baseline's (throughput and p99 ratios, null without a baseline), and its
 * errors as failures.
 */
export function scenarioFigures(name: string, m: Measured, baseline: LoadResult | undefined) {
  return {
    ...m,
    throughputRatio: baseline ? ratio(m.result.throughput, baseline.throughput) : null,
    p99Ratio: baseline ? ratio(m.result.latencyMs.p99, baseline.latencyMs.p99) : null,
    failures: m.result.errorCount ? [`${name}: ${m.result.errorCount} errors ${JSON.stringify(m.result.errors)}`] : [],
  };
}
