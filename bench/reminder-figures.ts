// The reminders scenario's figures, from the sink's acceptance times, the
// notification rows' due times and the CPU read around the burst.
import { messageIdOf } from '../apps/notifications/src/messages/message-id';
import type { BenchContext, ScenarioResult, TopStatement } from './context';
import { toLoadResult, type LoadResult } from './load';
import type { NotificationsDatabase, ReminderPlan } from './reminder-setup';
import type { CpuSnapshot } from './resources';
import { BASELINE_ID_PREFIX, type BaselineRun } from './smtp-baseline';
import type { AcceptedMessage, TimedSmtpSink } from './smtp-sink';
import { ratio, type LatencySummary } from './stats';

/** What the second notifications process did, and the CPU around it. */
export interface BurstWindow {
  /** The reminders' due time, epoch ms. */
  dueAt: number;
  offsetMs: number;
  /** The Message-IDs of the reminder e-mails expected. */
  expected: Set<string>;
  /** From the second process's start until it had applied every event again; undefined if it had not within a minute past the due time. */
  replayMs?: number;
  replayedAt?: number;
  before: CpuSnapshot;
  after: CpuSnapshot;
  wallMs: number;
  peakRssMb: Record<string, number>;
  /** A reminder not accepted this long after its due time counts as undelivered. */
  timeoutMs: number;
  /** The busiest statements of notifications', catalog's and booking's databases over the burst, with pg_stat_statements. */
  statements?: TopStatement[];
}

/** The scenario's own figures (ScenarioResult.extra). */
// A type, not an interface: it goes into ScenarioResult.extra, a Record.
export type RemindersExtra = {
  /** Appointments booked: reminder e-mails expected. */
  reminders: number;
  delivered: number;
  /** Not accepted by the sink within the timeout after their due time. */
  undelivered: number;
  /** Acceptances of a reminder's Message-ID beyond its first. */
  duplicates: number;
  dueAt: string;
  offsetSeconds: number;
  msgsPerSecond: number;
  baselineMsgsPerSecond: number;
  ratio: number | null;
  /** From the due time to the sink's acceptance. */
  lagMs: LatencySummary;
  /** How long before the due time every reminder was scheduled (negative: after it). */
  scheduledAheadMs: number | null;
  replayMs: number | null;
  /** From the first process's start until it had applied every BOOKED event (the second's margin is judged by it, among others). */
  firstApplyMs: number;
  /** Reminder rows by `channel status [skip reason]`. */
  rows: Record<string, number>;
  booking: { seconds: number; errors: Record<string, number> };
  confirmationSeconds: number;
  settings: { sendConcurrency: number; pollIntervalMs: number };
  /** CPU ms per delivered reminder, by process, from the due time until every reminder row was settled. */
  cpuMsPerReminder: Record<string, number>;
  baseline: { messages: number; concurrency: number; msgsPerSecond: number; lagMs: LatencySummary; senderCpuMsPerMessage: number; sinkCpuMsPerMessage: number; errors: Record<string, number> };
};

export interface FigureInput {
  ctx: BenchContext;
  db: NotificationsDatabase;
  sink: TimedSmtpSink;
  plan: ReminderPlan;
  settings: { sendConcurrency: number; pollIntervalMs: number };
  baseline: { run: BaselineRun; sinkCpuMs: number };
  phase1: { booking: { appointmentIds: string[]; errors: Record<string, number>; seconds: number }; applyMs: number; confirmationSeconds: number };
  burst: BurstWindow;
}

/** The first acceptance of each Message-ID `wanted` accepts, and how many acceptances came after a first. */
function firstAcceptances(accepted: readonly AcceptedMessage[], wanted: (id: string) => boolean): { first: Map<string, number>; duplicates: number } {
  const first = new Map<string, number>();
  let duplicates = 0;
  for (const m of accepted) {
    if (m.messageId === undefined || !wanted(m.messageId)) continue;
    if (first.has(m.messageId)) duplicates++;
    else first.set(m.messageId, m.acceptedAt);
  }
  return { first, duplicates };
}

/** Each reminder e-mail's due time (its row's scheduled_time), by Message-ID. */
async function dueTimes(db: NotificationsDatabase): Promise<Map<string, number>> {
  const { rows } = await db.sql.query<{ appointment_id: string; reminder_offset_ms: number; scheduled_time: Date }>(
    `SELECT appointment_id::text, reminder_offset_ms, scheduled_time FROM notification WHERE kind = 'reminder' AND channel = 'email'`,
  );
  return new Map(rows.map((r) => [messageIdOf(r.appointment_id, 'reminder', 'email', r.reminder_offset_ms), r.scheduled_time.getTime()]));
}

async function rowCounts(db: NotificationsDatabase): Promise<Record<string, number>> {
  const { rows } = await db.sql.query<{ key: string; n: number }>(
    `SELECT concat_ws(' ', channel, status, skip_reason) AS key, count(*)::int AS n FROM notification WHERE kind = 'reminder' GROUP BY 1 ORDER BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.key, r.n]));
}

/** A burst's figures: latencies are from `releasedAt(id)` to each first acceptance; throughput over the first release to the last acceptance. */
function burstResult(concurrency: number, first: Map<string, number>, expected: number, releasedAt: (id: string) => number): LoadResult {
  const lags = [...first].map(([id, at]) => at - releasedAt(id));
  const start = Math.min(...[...first.keys()].map(releasedAt));
  const end = Math.max(...first.values());
  const outcomes = [...Array<string>(first.size).fill('ok'), ...Array<string>(Math.max(0, expected - first.size)).fill('undelivered')];
  return toLoadResult(concurrency, lags, outcomes, first.size ? end - start : 0);
}

function baselineFigures(input: FigureInput) {
  const { run, sinkCpuMs } = input.baseline;
  const count = input.plan.slotIds.length;
  const { first } = firstAcceptances(input.sink.accepted, (id) => id.startsWith(BASELINE_ID_PREFIX));
  const result = burstResult(input.settings.sendConcurrency, first, count, () => run.startedAt);
  const perMessage = (ms: number) => (first.size ? Math.round((ms / first.size) * 1000) / 1000 : 0);
  return {
    result,
    summary: {
      messages: count,
      concurrency: input.settings.sendConcurrency,
      msgsPerSecond: result.throughput,
      lagMs: result.latencyMs,
      senderCpuMsPerMessage: perMessage(run.cpuMs),
      sinkCpuMsPerMessage: perMessage(sinkCpuMs),
      errors: run.errors,
    },
  };
}

function cpuFigures(burst: BurstWindow, delivered: number) {
  const cpuCores: Record<string, number> = {};
  const cpuMsPerOp: Record<string, number> = {};
  for (const [name, end] of Object.entries(burst.after)) {
    if (burst.before[name] === undefined) continue;
    const seconds = end - burst.before[name];
    cpuCores[name] = Math.round((seconds / (burst.wallMs / 1000)) * 100) / 100;
    cpuMsPerOp[name] = delivered ? Math.round(((seconds * 1000) / delivered) * 1000) / 1000 : 0;
  }
  return { cpuCores, cpuMsPerOp };
}

/** The scenario's result: its row, its baseline, the extra figures and what went wrong. */
export async function reminderFigures(input: FigureInput): Promise<ScenarioResult> {
  const { burst, db, phase1 } = input;
  const due = await dueTimes(db);
  const deadline = (id: string) => (due.get(id) ?? burst.dueAt) + burst.timeoutMs;
  const { first: all, duplicates } = firstAcceptances(input.sink.accepted, (id) => burst.expected.has(id));
  const first = new Map([...all].filter(([id, at]) => at <= deadline(id)));
  const result = burstResult(input.settings.sendConcurrency, first, burst.expected.size, (id) => due.get(id) ?? burst.dueAt);
  const base = baselineFigures(input);
  const { cpuCores, cpuMsPerOp } = cpuFigures(burst, first.size);
  const undelivered = burst.expected.size - first.size;
  const booked = phase1.booking.appointmentIds.length;
  const failures: string[] = [];
  if (undelivered) failures.push(`reminders: ${undelivered} of ${burst.expected.size} not accepted by the sink within ${burst.timeoutMs / 1000} s of their due time`);
  if (booked < input.plan.slotIds.length) failures.push(`reminders: ${input.plan.slotIds.length - booked} appointments not booked ${JSON.stringify(phase1.booking.errors)}`);
  if (burst.replayedAt === undefined || burst.replayedAt > burst.dueAt) failures.push('reminders: the reminders were still being scheduled at their due time (raise replayMarginMs in scenarios/reminders.ts)');
  if (base.result.errorCount) failures.push(`reminders baseline: ${base.result.errorCount} e-mails not accepted ${JSON.stringify(input.baseline.run.errors)}`);
  const extra: RemindersExtra = {
    reminders: burst.expected.size,
    delivered: first.size,
    undelivered,
    duplicates,
    dueAt: new Date(burst.dueAt).toISOString(),
    offsetSeconds: burst.offsetMs / 1000,
    msgsPerSecond: result.throughput,
    baselineMsgsPerSecond: base.result.throughput,
    ratio: ratio(result.throughput, base.result.throughput),
    lagMs: result.latencyMs,
    scheduledAheadMs: burst.replayedAt === undefined ? null : burst.dueAt - burst.replayedAt,
    replayMs: burst.replayMs ?? null,
    firstApplyMs: phase1.applyMs,
    rows: await rowCounts(db),
    booking: { seconds: phase1.booking.seconds, errors: phase1.booking.errors },
    confirmationSeconds: phase1.confirmationSeconds,
    settings: input.settings,
    cpuMsPerReminder: cpuMsPerOp,
    baseline: base.summary,
  };
  return {
    name: 'reminders',
    title: `Reminders: ${burst.expected.size.toLocaleString('en-US')} due at once, e-mailed to an SMTP sink (latency: lag from the due time)`,
    result,
    baseline: {
      name: 'nodemailer alone',
      description: `nodemailer's pooled transport sending the same e-mails to the same sink from ${input.settings.sendConcurrency} loops over as many connections, in a process of its own; latency from its start`,
      result: base.result,
    },
    throughputRatio: extra.ratio,
    p99Ratio: ratio(result.latencyMs.p99, base.result.latencyMs.p99),
    cpuCores,
    cpuMsPerOp,
    peakRssMb: burst.peakRssMb,
    topStatements: burst.statements,
    extra,
    failures,
  };
}
