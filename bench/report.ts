import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ScenarioResult } from './context';
import type { FeedDelivery } from './feed-latency';
import type { Dataset } from './dataset';
import type { LoadResult } from './load';
import type { PeerResult } from './peers';
import type { RemindersExtra } from './reminder-figures';

/** Search measured at another data-set scale, to see how latency grows with the data. */
export interface ScalePoint {
  scale: number;
  slots: number;
  search: LoadResult;
  rawSearch: LoadResult;
}

export interface Target {
  target: string;
  measured: string;
  met: boolean | null;
}

/** Everything a run found; written as JSON. */
export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  options: Record<string, unknown>;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  postgres: { version: string; embedded: boolean; settings: Record<string, string>; statStatements: boolean; prewarmed: boolean };
  dataset: Dataset;
  channels: string;
  noop?: LoadResult;
  scenarios: ScenarioResult[];
  scaling: ScalePoint[];
  peers: PeerResult[];
  resources: Record<string, { peakRssMb: number; startupPeakRssMb?: number; rssMb: number; cpuSeconds: number } | undefined>;
  invariants?: { checked: boolean; violations: string[]; note?: string };
  targets: Target[];
  failures: string[];
}

const f = (n: number | null | undefined, digits = 1) => (n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const x = (n: number | null | undefined) => (n === null || n === undefined ? '–' : `${f(n, 2)}×`);

/** The targets of the brief, judged on this run's figures. */
export function judgeTargets(report: Omit<BenchReport, 'targets'>): Target[] {
  const by = (name: string) => report.scenarios.find((s) => s.name === name && !s.skipped && s.result);
  const targets: Target[] = [];
  const book = by('book');
  if (book) targets.push({ target: 'booking ≥ 0.35 × raw claim throughput', measured: x(book.throughputRatio), met: (book.throughputRatio ?? 0) >= 0.35 });
  const search = by('search');
  if (search) {
    targets.push({ target: 'search ≥ 0.5 × raw search throughput', measured: x(search.throughputRatio), met: (search.throughputRatio ?? 0) >= 0.5 });
    const atSpec = report.dataset.shape.scale === 1 && search.result!.concurrency === 32;
    targets.push({
      target: 'search p99 < 25 ms at 32 clients, default data set',
      measured: `${f(search.result!.latencyMs.p99, 2)} ms at ${search.result!.concurrency} clients, scale ${report.dataset.shape.scale}`,
      met: atSpec ? search.result!.latencyMs.p99 < 25 : null,
    });
    const small = report.scaling.find((p) => Math.abs(p.scale - report.dataset.shape.scale / 10) < 1e-9);
    if (small) {
      const growth = search.result!.latencyMs.p99 / small.search.latencyMs.p99;
      targets.push({ target: `search p99 grows ≤ 1.5× from scale ${small.scale} to ${report.dataset.shape.scale}`, measured: x(growth), met: growth <= 1.5 });
    }
  }
  const rush = by('rush');
  if (rush) {
    const e = rush.extra as { winners: number; otherErrors: number; settledWinners: number };
    targets.push({
      target: `rush: exactly ${report.options.rushSlots} winners`,
      measured: `${e.winners} told BOOKED, ${e.settledWinners} BOOKED once settled`,
      met: e.winners === report.options.rushSlots,
    });
    targets.push({ target: 'rush: p99 < 1 s', measured: `${f(rush.result!.latencyMs.p99, 0)} ms`, met: rush.result!.latencyMs.p99 < 1000 });
    targets.push({ target: 'rush: no errors but SLOT_UNAVAILABLE', measured: String(e.otherErrors), met: e.otherErrors === 0 });
  }
  const reminders = by('reminders');
  if (reminders) {
    const e = reminders.extra as RemindersExtra;
    targets.push({ target: 'reminders ≥ 0.5 × nodemailer alone (msgs/s)', measured: x(e.ratio), met: (e.ratio ?? 0) >= 0.5 });
    targets.push({
      target: 'reminders p99 lag < 60 s, 10,000 due at once',
      measured: `${f(e.lagMs.p99 / 1000, 1)} s with ${e.reminders.toLocaleString('en-US')} due`,
      met: e.reminders >= 10_000 ? e.lagMs.p99 < 60_000 : null,
    });
    targets.push({ target: 'reminders: every one delivered', measured: `${e.undelivered} undelivered, ${e.duplicates} duplicates`, met: e.undelivered === 0 });
  }
  for (const name of ['catalog', 'booking']) {
    const r = report.resources[name];
    if (r) targets.push({ target: `${name} peak RSS < 250 MB`, measured: `${f(r.peakRssMb, 0)} MB`, met: r.peakRssMb < 250 });
  }
  return targets;
}

function scenarioRow(s: ScenarioResult): string {
  if (s.skipped || !s.result) return `| ${s.title} | – | – | – | – | – | – | – | skipped: ${s.skipped ?? 'failed'} | | | | |`;
  const r = s.result;
  const b = s.baseline?.result;
  const errors = s.name === 'rush' ? `${(s.extra as { otherErrors: number }).otherErrors}` : String(r.errorCount);
  return `| ${s.title} | ${r.concurrency} | ${r.ops.toLocaleString('en-US')} | ${f(r.throughput)} | ${f(r.latencyMs.p50, 2)} | ${f(r.latencyMs.p95, 2)} | ${f(r.latencyMs.p99, 2)} | ${errors} | ${s.baseline?.name ?? '–'} | ${f(b?.throughput)} | ${f(b?.latencyMs.p99, 2)} | ${x(s.throughputRatio)} | ${x(s.noopRatio)} |`;
}

/** The reminders scenario in one paragraph: rate against nodemailer alone, lag, losses and duplicates, CPU per reminder. */
function remindersLine(e: RemindersExtra): string {
  const cpu = Object.entries(e.cpuMsPerReminder).map(([name, ms]) => `${name === 'bench' ? 'load generator (the sink)' : name === 'postgres' ? 'PostgreSQL' : name} ${f(ms, 2)}`);
  const rows = Object.entries(e.rows).map(([key, n]) => `${n.toLocaleString('en-US')} ${key}`).join(', ');
  return (
    `Reminders: ${e.reminders.toLocaleString('en-US')} due at ${e.dueAt} (all at once), ${e.delivered.toLocaleString('en-US')} accepted by the SMTP sink at ${f(e.msgsPerSecond)} msgs/s ` +
    `(first due → last accepted), ${x(e.ratio)} nodemailer alone (${f(e.baselineMsgsPerSecond)} msgs/s from ${e.baseline.concurrency} loops on as many connections); ` +
    `lag from the due time p50 ${f(e.lagMs.p50 / 1000, 2)} s, p99 ${f(e.lagMs.p99 / 1000, 2)} s, max ${f(e.lagMs.max / 1000, 2)} s; ${e.undelivered} undelivered, ${e.duplicates} duplicates (by Message-ID). ` +
    `notifications sends ${e.settings.sendConcurrency} at a time, polls every ${e.settings.pollIntervalMs} ms. Reminder rows: ${rows}. ` +
    `CPU ms per reminder: ${cpu.join(', ')}; nodemailer alone ${f(e.baseline.senderCpuMsPerMessage, 2)} in its process and ${f(e.baseline.sinkCpuMsPerMessage, 2)} in the sink. ` +
    `Set-up: ${e.reminders.toLocaleString('en-US')} bookings in ${f(e.booking.seconds, 1)} s; a first notifications process applied their events in ${f(e.firstApplyMs / 1000, 1)} s and had sent the confirmations ${f(e.confirmationSeconds, 1)} s after its start; ` +
    `the second applied them again in ${e.replayMs === null ? '(not in time)' : `${f(e.replayMs / 1000, 1)} s`}, scheduling the reminders ${e.scheduledAheadMs === null ? '(not in time)' : `${f(e.scheduledAheadMs / 1000, 1)} s`} before they were due.`
  );
}

/** The Markdown summary: tables to paste into docs. */
export function toMarkdown(report: BenchReport): string {
  const d = report.dataset;
  const rows = (d.seed.catalog.rows ?? {}) as Record<string, number>;
  const brows = (d.seed.booking.rows ?? {}) as Record<string, number>;
  const lines: string[] = [];
  lines.push(`Run ${report.startedAt} · ${report.machine.cpus} cores (${report.machine.cpuModel}), ${f(report.machine.memoryGb, 0)} GB, Node ${report.machine.node}, PostgreSQL ${report.postgres.version}${report.postgres.embedded ? ' (embedded)' : ''} · load average at start ${report.machine.loadAverageAtStart.map((l) => f(l, 1)).join(' ')}`);
  lines.push('');
  lines.push(
    `Data set (scale ${d.shape.scale}): ${f(rows.clinics, 0)} clinics, ${f(rows.doctors, 0)} doctors, ${f(rows.slots, 0)} slots (${f(rows.booked, 0)} booked), ${f(brows.patients, 0)} patients, ${f(brows.appointments, 0)} appointments; seeded in ${f(d.seed.catalog.seconds + d.seed.booking.seconds, 0)} s (${f(d.seed.catalog.rowsPerSecond, 0)} slots/s including index builds)${d.reused ? `, reused from templates (copied in ${f(d.copySeconds, 1)} s)` : ''}.`,
  );
  lines.push(`Clients: ${report.channels}`);
  lines.push('');
  lines.push('| Scenario | Clients | Ops | ops/s | p50 ms | p95 ms | p99 ms | Errors | Baseline | Baseline ops/s | Baseline p99 ms | × baseline | × no-op gRPC |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
  if (report.noop) {
    const n = report.noop;
    lines.push(`| no-op gRPC call (bare @grpc/grpc-js server) | ${n.concurrency} | ${n.ops.toLocaleString('en-US')} | ${f(n.throughput)} | ${f(n.latencyMs.p50, 2)} | ${f(n.latencyMs.p95, 2)} | ${f(n.latencyMs.p99, 2)} | ${n.errorCount} | – | – | – | – | 1.00× |`);
  }
  for (const s of report.scenarios) lines.push(scenarioRow(s));
  const search = report.scenarios.find((s) => s.name === 'search' && s.extra);
  const unprepared = (search?.extra as { unpreparedBaseline?: { throughput: number; p99Ms: number; ratio: number | null } } | undefined)?.unpreparedBaseline;
  if (unprepared) {
    lines.push('');
    lines.push(
      `Search against the same SELECT unprepared (parsed and planned on every call): ${f(unprepared.throughput)} ops/s, p99 ${f(unprepared.p99Ms, 2)} ms; SearchSlots is ${x(unprepared.ratio)} of it.`,
    );
  }
  const booking = report.scenarios.find((s) => s.name === 'book' && s.extra);
  const feed = (booking?.extra as { feed?: FeedDelivery } | undefined)?.feed;
  if (feed) {
    lines.push('');
    lines.push(
      `Event feed under the book scenario's load: ${feed.delivered} BOOKED events reached a WatchAppointmentEvents consumer (${feed.missing} missing), p50 ${f(feed.latencyMs.p50, 1)} ms, p99 ${f(feed.latencyMs.p99, 1)} ms after the booking's answer.`,
    );
  }
  const rush = report.scenarios.find((s) => s.name === 'rush' && s.extra);
  if (rush) {
    const e = rush.extra as Record<string, number>;
    lines.push('');
    lines.push(
      `Rush: ${e.winners} clients told BOOKED, ${e.losers} SLOT_UNAVAILABLE, ${e.otherErrors} other errors (${e.pendingAfterRush} appointments left PENDING, settled by booking's reconciler); once settled ${e.settledWinners} BOOKED appointments, ${e.doubleBookings} double bookings; raw claim rush: ${e.baselineWinners} winners.`,
    );
  }
  const reminders = report.scenarios.find((s) => s.name === 'reminders' && s.extra);
  if (reminders) {
    lines.push('');
    lines.push(remindersLine(reminders.extra as RemindersExtra));
  }
  if (report.scaling.length) {
    const search = report.scenarios.find((s) => s.name === 'search' && s.result);
    lines.push('');
    lines.push('| Search vs data-set size | Slots | ops/s | p99 ms | raw SQL ops/s | raw SQL p99 ms |');
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const p of report.scaling) {
      lines.push(`| scale ${p.scale} | ${f(p.slots, 0)} | ${f(p.search.throughput)} | ${f(p.search.latencyMs.p99, 2)} | ${f(p.rawSearch.throughput)} | ${f(p.rawSearch.latencyMs.p99, 2)} |`);
    }
    if (search?.result && search.baseline) {
      lines.push(`| scale ${d.shape.scale} | ${f(rows.slots, 0)} | ${f(search.result.throughput)} | ${f(search.result.latencyMs.p99, 2)} | ${f(search.baseline.result.throughput)} | ${f(search.baseline.result.latencyMs.p99, 2)} |`);
    }
  }
  if (report.peers.length) {
    lines.push('');
    lines.push(`| Peer strategy (raw SQL, ${report.options.rushClients} clients on ${report.options.rushSlots} slots, ${report.options.pool} connections) | Rounds | Bookings (want ${Number(report.options.rushSlots) * report.peers[0].rounds}) | Double bookings | Retries | ops/s | p50 ms | p99 ms | Errors |`);
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const p of report.peers) {
      const errors = p.result.errorCount - (p.result.errors.SLOT_UNAVAILABLE ?? 0);
      lines.push(`| ${p.name} | ${p.rounds} | ${p.winners} | ${p.doubleBookings} | ${p.retries} | ${f(p.result.throughput)} | ${f(p.result.latencyMs.p50, 2)} | ${f(p.result.latencyMs.p99, 2)} | ${errors} |`);
    }
  }
  lines.push('');
  lines.push('| CPU ms per op | catalog | booking | notifications | PostgreSQL | load generator | cores busy | peak RSS MB catalog | peak RSS MB booking | peak RSS MB notifications |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of report.scenarios.filter((s) => s.cpuMsPerOp)) {
    const c = s.cpuMsPerOp!;
    const cores = Object.values(s.cpuCores ?? {}).reduce((a, b) => a + b, 0);
    const rss = s.peakRssMb ?? {};
    lines.push(
      `| ${s.name} | ${f(c.catalog, 3)} | ${f(c.booking, 3)} | ${f(c.notifications, 3)} | ${f(c.postgres, 3)} | ${f(c.bench, 3)} | ${f(cores, 2)} | ${f(rss.catalog, 0)} | ${f(rss.booking, 0)} | ${f(rss.notifications, 0)} |`,
    );
  }
  const res = Object.entries(report.resources).filter(([, r]) => r);
  if (res.length) {
    lines.push('');
    lines.push(
      `Peak RSS (VmHWM) over the run: ${res.map(([name, r]) => `${name} ${f(r!.peakRssMb, 0)} MB${r!.startupPeakRssMb ? ` (${f(r!.startupPeakRssMb, 0)} MB at start-up)` : ''}`).join(', ')}.`,
    );
  }
  if (report.targets.length) {
    lines.push('');
    lines.push('| Target | Measured | Met |');
    lines.push('| --- | --- | --- |');
    for (const t of report.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met === null ? 'n/a at these settings' : t.met ? 'yes' : '**no**'} |`);
  }
  if (report.failures.length) {
    lines.push('');
    lines.push(`Failures: ${report.failures.join('; ')}`);
  }
  return lines.join('\n');
}

/** Writes the report as JSON and Markdown under `outDir`; returns both paths. */
export async function writeReport(report: BenchReport, markdown: string, outDir: string, label: string): Promise<{ json: string; markdown: string }> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const base = join(dir, `bench-${label}-${stamp}`);
  await writeFile(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(`${base}.md`, `${markdown}\n`);
  return { json: `${base}.json`, markdown: `${base}.md` };
}
