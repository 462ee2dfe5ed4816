import { parseArgs } from 'node:util';

export const SCENARIOS = ['search', 'find-next', 'book', 'book-traced', 'rush', 'cancel-rebook', 'peers', 'reminders'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Everything a benchmark run is told. */
export interface BenchOptions {
  scale: number;
  /** Extra data-set scales at which search is measured too, to see how its latency grows with the data. */
  compareScales: number[];
  durationMs: number;
  warmupMs: number;
  concurrency: number;
  rushClients: number;
  rushSlots: number;
  /** Reminders due at the same instant in the reminders scenario. */
  reminders: number;
  /** PostgreSQL connections per service process, and of the peer strategies' pool. */
  pool: number;
  scenarios: ScenarioName[];
  outDir: string;
  smoke: boolean;
  /** A PostgreSQL server URL with rights to CREATE DATABASE; unset: an embedded PostgreSQL in `dataDir`. */
  serverUrl?: string;
  dataDir: string;
  /** Keep the seeded data in template databases and reuse it in later runs. */
  templates: boolean;
  fresh: boolean;
  seedOnly: boolean;
  /** Name prefix of the run's databases. */
  prefix: string;
  /** Drop the run's databases at the end. */
  dropAfter: boolean;
  cpuProf: boolean;
  quiet: boolean;
}

const USAGE = `npm run bench -- [options]

  --scale <n>             data-set scale; 1 = ~500 clinics, 5,000 doctors, ~5M slots (default 1)
  --compare-scales <list> also measure search at these scales, e.g. 0.1 (default 0.1 at scale 1, else none; "none" for none)
  --duration <s>          measured seconds per closed-loop scenario and baseline (default 20)
  --warmup <s>            unmeasured seconds before each (default 3)
  --concurrency <n>       concurrent clients of the closed-loop scenarios and their baselines (default 32)
  --rush-clients <n>      clients in the contended booking rush (default 1000)
  --rush-slots <n>        slots they fight over (default 10)
  --reminders <n>         reminders due at the same instant in the reminders scenario (default 10000)
  --pool <n>              PostgreSQL connections per service process and of the peer strategies (default 20)
  --scenarios <list>      any of ${SCENARIOS.join(',')} (default all)
  --out <dir>             where results go (default bench/results)
  --data-dir <dir>        embedded PostgreSQL's home (default .data/bench); ignored with BENCH_DATABASE_URL
  --fresh                 seed again even if a matching seeded template exists
  --no-templates          seed straight into the run's databases, keep no templates
  --seed-only             seed (or check) the templates and stop
  --cpu-prof              write V8 CPU profiles of the services into <out>/profiles
  --smoke                 tiny and quick: the harness's own test (scale 0.002, 1 s per scenario, 100 reminders)
  --quiet                 no progress output
  -h, --help

  BENCH_DATABASE_URL      use this PostgreSQL server instead of the embedded one`;

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function number(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= min) throw new Error(`--${name} must be a number above ${min}, not ${value}`);
  return n;
}

/** Parses the command line (argv without node and script); prints usage and exits on --help. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: 'string' },
      'compare-scales': { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      concurrency: { type: 'string' },
      'rush-clients': { type: 'string' },
      'rush-slots': { type: 'string' },
      reminders: { type: 'string' },
      pool: { type: 'string' },
      scenarios: { type: 'string' },
      out: { type: 'string' },
      'data-dir': { type: 'string' },
      fresh: { type: 'boolean' },
      'no-templates': { type: 'boolean' },
      'seed-only': { type: 'boolean' },
      'cpu-prof': { type: 'boolean' },
      smoke: { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const smoke = values.smoke ?? false;
  const scale = number('scale', values.scale, smoke ? 0.002 : 1);
  const scenarios = values.scenarios ? list(values.scenarios) : [...SCENARIOS];
  const unknown = scenarios.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (unknown.length) throw new Error(`unknown scenarios: ${unknown.join(', ')}; choose from ${SCENARIOS.join(', ')}`);
  const compare = values['compare-scales'] ?? (scale === 1 && !smoke ? '0.1' : 'none');
  return {
    scale,
    compareScales: compare === 'none' ? [] : list(compare).map((s) => number('compare-scales', s, 0)),
    durationMs: number('duration', values.duration, smoke ? 1 : 20) * 1000,
    warmupMs: (values.warmup !== undefined ? Number(values.warmup) : smoke ? 0.3 : 3) * 1000,
    concurrency: Math.round(number('concurrency', values.concurrency, smoke ? 4 : 32)),
    rushClients: Math.round(number('rush-clients', values['rush-clients'], smoke ? 100 : 1000)),
    rushSlots: Math.round(number('rush-slots', values['rush-slots'], 10)),
    reminders: Math.round(number('reminders', values.reminders, smoke ? 100 : 10_000)),
    pool: Math.round(number('pool', values.pool, smoke ? 5 : 20)),
    scenarios: scenarios as ScenarioName[],
    outDir: values.out ?? 'bench/results',
    smoke,
    serverUrl: env.BENCH_DATABASE_URL || undefined,
    dataDir: values['data-dir'] ?? '.data/bench',
    templates: !(values['no-templates'] ?? smoke),
    fresh: values.fresh ?? false,
    seedOnly: values['seed-only'] ?? false,
    prefix: smoke ? `bench_smoke_${process.pid}` : 'bench_run',
    dropAfter: smoke,
    cpuProf: values['cpu-prof'] ?? false,
    quiet: values.quiet ?? false,
  };
}
