import { randomBytes } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { checkBookingInvariants } from '../libs/testing/src/invariants';
import { noopGrpc, rawSearch } from './baselines';
import { benchPool, slotSupply, type BenchContext, type ScenarioResult } from './context';
import { dropDatabase, openBenchServer, prewarm, withClient, type BenchServer } from './database';
import { prepareDataset, type Dataset } from './dataset';
import type { BenchOptions, ScenarioName } from './options';
import { peerStrategies, type PeerResult } from './peers';
import { say } from './progress';
import { judgeTargets, toMarkdown, writeReport, type BenchReport, type ScalePoint } from './report';
import { peakRssMbOf, sampleProcess } from './resources';
import { bookScenario } from './scenarios/book';
import { bookTracedScenario, relateToUntraced } from './scenarios/book-traced';
import { cancelRebookScenario } from './scenarios/cancel-rebook';
import { findNextScenario } from './scenarios/find-next';
import { remindersScenario } from './scenarios/reminders';
import { rushScenario } from './scenarios/rush';
import { searchLoad, searchScenario } from './scenarios/search';
import { servicePids, startCatalogOnly, startServices, type Services } from './services';
import { ratio } from './stats';

export interface BenchResult {
  report?: BenchReport;
  markdown: string;
  files?: { json: string; markdown: string };
  failures: string[];
}

const SCENARIO_RUNNERS: Record<Exclude<ScenarioName, 'peers'>, (ctx: BenchContext) => Promise<ScenarioResult>> = {
  search: searchScenario,
  'find-next': findNextScenario,
  book: bookScenario,
  'book-traced': bookTracedScenario,
  rush: rushScenario,
  'cancel-rebook': cancelRebookScenario,
  reminders: remindersScenario,
};

/** Largest booked-appointment count for which the cross-database invariant check (which reads them all) runs. */
const INVARIANT_CHECK_LIMIT = 300_000;

async function contextFor(options: BenchOptions, server: BenchServer, dataset: Dataset): Promise<BenchContext> {
  const catalogUrl = server.url(dataset.catalogDb);
  const bookingUrl = server.url(dataset.bookingDb);
  say(options.quiet, `starting catalog and booking (${options.pool} database connections each)`);
  const services = await startServices({
    catalogUrl,
    bookingUrl,
    pool: options.pool,
    cpuProfDir: options.cpuProf ? `${options.outDir}/profiles` : undefined,
    // The smoke test counts exact outcomes on a busy machine, where a 2 s
    // deadline would turn slowness into errors (as in the race test).
    catalogTimeoutMs: options.smoke ? 15_000 : undefined,
  });
  try {
    return await setUp(options, server, dataset, services);
  } catch (err) {
    // Set-up failed after the services started: stop them, or they outlive the run.
    await services.stop();
    throw err;
  }
}

async function setUp(options: BenchOptions, server: BenchServer, dataset: Dataset, services: Services): Promise<BenchContext> {
  const catalogUrl = server.url(dataset.catalogDb);
  const bookingUrl = server.url(dataset.bookingDb);
  // The harness's own queries (set-up, checks) may scan the whole data set.
  const catalogSql = benchPool(catalogUrl, 4, 0);
  const bookingSql = benchPool(bookingUrl, 4, 0);
  const specialties = (await catalogSql.query<{ specialty: string }>('SELECT DISTINCT specialty FROM doctor ORDER BY 1')).rows.map((r) => r.specialty);
  const patients = (
    await bookingSql.query<{ id: string }>('SELECT id FROM patient ORDER BY random() LIMIT $1', [Math.max(options.rushClients, 10_000)])
  ).rows.map((r) => r.id);
  // Distinct open slots for the booking scenarios, in random order. Next
  // week's slots (7 to 15 days ahead) are left to the rush's popular doctor.
  const wanted = options.smoke ? 5_000 : 400_000;
  const slots = (
    await catalogSql.query<{ id: string }>(
      `SELECT id FROM slot WHERE status = 'open'
         AND ((start_time > now() + interval '1 day' AND start_time < now() + interval '7 days') OR start_time > now() + interval '15 days')
       ORDER BY random() LIMIT $1`,
      [wanted],
    )
  ).rows.map((r) => r.id);
  say(options.quiet, `${specialties.length} specialties, ${patients.length} patients and ${slots.length} open slots to book`);
  return {
    options,
    server,
    dataset,
    catalogUrl,
    bookingUrl,
    services,
    catalogSql,
    bookingSql,
    specialties,
    patients,
    slots: slotSupply(slots),
    runTag: randomBytes(4).toString('hex'),
    booked: [],
  };
}

/** Search at each compare scale, on a copy of that scale's data set, with a catalog process of its own. */
async function searchAtScales(ctx: BenchContext): Promise<ScalePoint[]> {
  const points: ScalePoint[] = [];
  for (const scale of ctx.options.compareScales) {
    const prefix = `${ctx.options.prefix}_s${String(scale).replace('.', '_')}`;
    const dataset = await prepareDataset(ctx.server, { scale, prefix, templates: ctx.options.templates, fresh: ctx.options.fresh, quiet: ctx.options.quiet });
    const url = ctx.server.url(dataset.catalogDb);
    await prewarm(url);
    const catalog = await startCatalogOnly({ catalogUrl: url, pool: ctx.options.pool });
    try {
      const scoped = { ...ctx, dataset };
      say(ctx.options.quiet, `search at scale ${scale}`);
      const raw = await rawSearch(scoped, url);
      const { result } = await searchLoad(scoped, catalog.address);
      points.push({ scale, slots: Number((dataset.seed.catalog.rows as Record<string, number>).slots), search: result, rawSearch: raw });
    } finally {
      await catalog.stop('SIGTERM');
      const admin = ctx.server.url('postgres');
      await dropDatabase(admin, dataset.catalogDb);
      await dropDatabase(admin, dataset.bookingDb);
    }
  }
  return points;
}

async function seedOnly(options: BenchOptions, server: BenchServer): Promise<BenchResult> {
  for (const scale of [options.scale, ...options.compareScales]) {
    await prepareDataset(server, { scale, prefix: options.prefix, templates: true, fresh: options.fresh, quiet: options.quiet, copy: false });
  }
  return { markdown: '', failures: [] };
}

/** Runs the benchmark as `options` say: seed or reuse the data set, start the services, run scenarios, baselines and peers, report. */
export async function runBenchmark(options: BenchOptions): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg();
  const server = await openBenchServer({ serverUrl: options.serverUrl, dataDir: options.dataDir, tune: !options.serverUrl, quiet: options.quiet });
  let ctx: BenchContext | undefined;
  let dataset: Dataset | undefined;
  try {
    if (server.statStatements) await withClient(server.url('postgres'), (c) => c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'));
    if (options.seedOnly) return await seedOnly(options, server);
    dataset = await prepareDataset(server, { scale: options.scale, prefix: options.prefix, templates: options.templates, fresh: options.fresh, quiet: options.quiet });
    say(options.quiet, 'prewarming the run\'s databases (pg_prewarm)');
    const prewarmed = (await prewarm(server.url(dataset.catalogDb))) && (await prewarm(server.url(dataset.bookingDb)));
    ctx = await contextFor(options, server, dataset);
    const failures: string[] = [];
    // Start-up (migrations, the reconciler's first pass) is part of the run too.
    const startupPeakRssMb = peakRssMbOf(servicePids(ctx.services));

    say(options.quiet, `no-op gRPC baseline, ${options.concurrency} clients`);
    const noop = await noopGrpc(ctx);
    const scenarios: ScenarioResult[] = [];
    let scaling: ScalePoint[] = [];
    let peers: PeerResult[] = [];
    for (const name of options.scenarios) {
      say(options.quiet, `scenario ${name}`);
      try {
        if (name === 'peers') {
          peers = await peerStrategies(ctx, options.smoke ? 1 : 3);
          continue;
        }
        const result = await SCENARIO_RUNNERS[name](ctx);
        // A rush and a burst of e-mails are not calls a no-op call compares with.
        if (result.result && name !== 'rush' && name !== 'reminders') result.noopRatio = ratio(result.result.throughput, noop.result.throughput);
        scenarios.push(result);
        failures.push(...result.failures);
        if (name === 'search' && options.compareScales.length) scaling = await searchAtScales(ctx);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        failures.push(`${name}: ${message}`);
        scenarios.push({ name, title: name, skipped: `failed: ${message}`, failures: [message] });
      }
    }
    relateToUntraced(scenarios);
    for (const p of peers) {
      const careful = p.name.startsWith('carebook') || p.name.startsWith('SERIALIZABLE');
      if (careful && p.doubleBookings) failures.push(`peer ${p.name}: ${p.doubleBookings} double bookings`);
    }

    // Each scenario resets the services' VmHWM when it starts: the run's
    // peak is the highest of start-up's, the scenarios' and what followed the last one.
    const resources = Object.fromEntries(
      Object.entries({ ...servicePids(ctx.services), 'load generator': process.pid }).map(([name, pid]) => {
        const s = pid ? sampleProcess(pid) : undefined;
        const peakRssMb = Math.max(s?.peakRssMb ?? 0, startupPeakRssMb[name] ?? 0, ...scenarios.map((sc) => sc.peakRssMb?.[name] ?? 0));
        return [name, s && { peakRssMb, startupPeakRssMb: startupPeakRssMb[name], rssMb: s.rssMb, cpuSeconds: Math.round(s.cpuSeconds * 10) / 10 }];
      }),
    );

    const { rows } = await ctx.bookingSql.query<{ n: number }>(`SELECT count(*)::int AS n FROM appointment WHERE status = 'booked'`);
    let invariants: BenchReport['invariants'];
    if (rows[0].n <= INVARIANT_CHECK_LIMIT) {
      const found = await checkBookingInvariants(ctx.catalogUrl, ctx.bookingUrl, { settled: false, graceMs: 15_000 });
      invariants = { checked: true, violations: found.violations };
      failures.push(...found.violations.map((v) => `invariant: ${v}`));
    } else {
      invariants = { checked: false, violations: [], note: `${rows[0].n} booked appointments: too many to cross-check here; the rush checks its slots` };
    }

    const partial: Omit<BenchReport, 'targets'> = {
      startedAt,
      finishedAt: new Date().toISOString(),
      options: { ...options, serverUrl: options.serverUrl ? '(BENCH_DATABASE_URL)' : undefined },
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        loadAverageAtStart,
        loadAverageAtEnd: loadavg(),
      },
      postgres: { version: server.version, embedded: server.embedded, settings: server.settings, statStatements: server.statStatements, prewarmed },
      dataset,
      channels: `closed loop, each client on its own gRPC channel (own TCP connection); raw-SQL baselines use one PostgreSQL connection per client, except the rushes (${options.pool}, the services' pool size); services' pools ${options.pool} connections each`,
      noop: noop.result,
      scenarios,
      scaling,
      peers,
      resources,
      invariants,
      failures,
    };
    const report: BenchReport = { ...partial, targets: judgeTargets(partial) };
    const markdown = toMarkdown(report);
    const files = await writeReport(report, markdown, options.outDir, options.smoke ? 'smoke' : `s${options.scale}`);
    return { report, markdown, files, failures };
  } finally {
    if (ctx) {
      await ctx.services.stop();
      await Promise.all([ctx.catalogSql.end(), ctx.bookingSql.end()]);
    }
    if (dataset && options.dropAfter) {
      const admin = server.url('postgres');
      await dropDatabase(admin, dataset.catalogDb);
      await dropDatabase(admin, dataset.bookingDb);
    }
    await server.stop();
  }
}
