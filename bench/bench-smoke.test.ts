import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import { parseOptions } from './options';
import type { RemindersExtra } from './reminder-figures';
import type { BenchReport } from './report';
import { runBenchmark, type BenchResult } from './run';

// The benchmark harness at a tiny scale for a few seconds, so that it cannot
// rot: every scenario, baseline and peer strategy runs against real service
// processes. It asserts what the harness computes, never how fast anything is.

let outDir: string;
afterAll(() => rm(outDir, { recursive: true, force: true }));

it('runs every scenario, baseline and peer strategy at smoke scale and writes its report', async () => {
  outDir = await mkdtemp(join(tmpdir(), 'carebook-bench-smoke-'));
  const options = { ...parseOptions(['--smoke', '--quiet', '--out', outDir], {}), serverUrl: inject('databaseAdminUrl') };
  const run: BenchResult = await runBenchmark(options);
  const report = run.report!;
  expect(run.failures).toEqual([]);

  const byName = Object.fromEntries(report.scenarios.map((s) => [s.name, s]));
  // The contended rush: exactly one winner per slot, every loser told SLOT_UNAVAILABLE.
  const rush = byName.rush;
  expect(rush.extra).toMatchObject({ winners: 10, losers: options.rushClients - 10, otherErrors: 0, doubleBookings: 0, slotsNotHeldByTheirAppointment: 0, baselineWinners: 10 });

  // The event feed's consumer saw every booking of the book scenario, warm-up included.
  const feed = (byName.book.extra as { feed: { delivered: number; missing: number } }).feed;
  expect(feed.missing).toBe(0);
  expect(feed.delivered).toBeGreaterThanOrEqual(byName.book.result!.ops);

  // Each closed-loop scenario ran, has a baseline and its ratios.
  for (const name of ['search', 'book', 'cancel-rebook']) {
    const s = byName[name];
    expect(s.skipped, name).toBeUndefined();
    expect(s.result!.ops, name).toBeGreaterThan(0);
    expect(s.result!.errorCount, name).toBe(0);
    expect(s.baseline!.result.ops, name).toBeGreaterThan(0);
    expect(s.throughputRatio, name).toBeGreaterThan(0);
    expect(s.noopRatio, name).toBeGreaterThan(0);
    expect(s.result!.latencyMs.p99, name).toBeGreaterThanOrEqual(s.result!.latencyMs.p50);
    expect(Object.keys(s.cpuMsPerOp!)).toEqual(expect.arrayContaining(['catalog', 'booking', 'bench']));
  }
  // Booking with tracing on, against the untraced book of the same run; the stub collector got its spans.
  const traced = byName['book-traced'];
  expect(traced.result!.ops).toBeGreaterThan(0);
  expect(traced.result!.errorCount).toBe(0);
  expect(traced.baseline!.result).toEqual(byName.book.result);
  expect(traced.throughputRatio).toBeGreaterThan(0);
  expect(traced.extra).toMatchObject({ exportRequests: { unreadable: 0 } });
  expect((traced.extra as { spansPerBooking: number }).spansPerBooking).toBeGreaterThan(3);
  // Search is also set against its statement unprepared.
  expect((byName.search.extra as { unpreparedBaseline: { throughput: number } }).unpreparedBaseline.throughput).toBeGreaterThan(0);
  // FindNextAvailable runs when the generated client has it, and is skipped with a note otherwise.
  const next = byName['find-next'];
  if (next.skipped) expect(next.skipped).toMatch(/findNextAvailable/);
  else expect(next.result!.ops).toBeGreaterThan(0);
  expect(report.noop!.ops).toBeGreaterThan(0);

  // Reminders due at once: a notifications process e-mailed every one to the sink, each once and
  // after the harness had them scheduled; nodemailer alone sent as many; their ratio and the lags were computed.
  const reminders = byName.reminders;
  expect(reminders.skipped).toBeUndefined();
  const sent = reminders.extra as RemindersExtra;
  expect(sent).toMatchObject({ reminders: options.reminders, delivered: options.reminders, undelivered: 0 });
  expect(sent.duplicates).toBeGreaterThanOrEqual(0);
  expect(sent.rows['email sent']).toBe(options.reminders);
  expect(sent.scheduledAheadMs).toBeGreaterThan(0);
  expect(reminders.result!.ops).toBe(options.reminders);
  expect(reminders.baseline!.result.ops).toBe(options.reminders);
  expect(reminders.throughputRatio).toBeGreaterThan(0);
  expect(sent.lagMs.p99).toBeGreaterThanOrEqual(sent.lagMs.p50);
  expect(Object.keys(reminders.cpuMsPerOp!)).toEqual(expect.arrayContaining(['catalog', 'booking', 'notifications', 'bench']));

  // Peer strategies: every client answered; the careful ones booked each slot once, the lock-free one was recorded as it came out.
  const peers = Object.fromEntries(report.peers.map((p) => [p.name, p]));
  for (const p of report.peers) expect(p.result.ops, p.name).toBe(options.rushClients * p.rounds);
  expect(peers['carebook: conditional UPDATE']).toMatchObject({ winners: 10, doubleBookings: 0, retries: 0 });
  expect(peers['SERIALIZABLE check-then-insert, retried']).toMatchObject({ winners: 10, doubleBookings: 0 });
  const noLock = peers['check-then-insert, no lock'];
  expect(noLock.winners).toBeGreaterThanOrEqual(10);
  expect(noLock.doubleBookings).toBe(noLock.winners - 10);

  // Resources were read from /proc, and the databases still satisfy the booking invariants.
  expect(report.resources.catalog!.peakRssMb).toBeGreaterThan(0);
  expect(report.resources.booking!.peakRssMb).toBeGreaterThan(0);
  expect(report.invariants).toEqual({ checked: true, violations: [] });

  // The JSON and the Markdown table were written.
  const written = JSON.parse(await readFile(run.files!.json, 'utf8')) as BenchReport;
  expect(written.scenarios.map((s) => s.name)).toEqual(['search', 'find-next', 'book', 'book-traced', 'rush', 'cancel-rebook', 'reminders']);
  expect(await readFile(run.files!.markdown, 'utf8')).toContain('| Scenario | Clients | Ops | ops/s |');
  expect(report.targets.map((t) => t.target)).toEqual(expect.arrayContaining(['rush: exactly 10 winners', 'reminders: every one delivered']));
}, 600_000);
