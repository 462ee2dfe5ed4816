import { loadNotificationsConfig } from '../../apps/notifications/src/config';
import { messageIdOf } from '../../apps/notifications/src/messages/message-id';
import { pollUntil } from '../../libs/testing/src/poll';
import type { ServiceProcess } from '../../libs/testing/src/service-process';
import { TEST_SECRETS_ENV } from '../../libs/testing/src/secrets';
import type { BenchContext, ScenarioResult } from '../context';
import { say } from '../progress';
import { bookPlan, notificationsDatabase, planReminders, settledFeedPosition, type NotificationsDatabase, type ReminderPlan } from '../reminder-setup';
import { resetStatements, topStatements } from '../measure';
import { reminderFigures, type BurstWindow } from '../reminder-figures';
import { cpuSnapshot, peakRssMbOf, resetPeakRss } from '../resources';
import { buildBundle, servicePids, startNotifications } from '../services';
import { runSmtpBaseline, type BaselineRun } from '../smtp-baseline';
import { startTimedSmtpSink, type TimedSmtpSink } from '../smtp-sink';

// Scenario: `--reminders` reminders (10,000 by default) due at the same
// instant, e-mailed by a notifications process to an SMTP sink in this
// process, against nodemailer sending the same e-mails straight from as many
// loops as notifications sends at a time.
//
// The appointments are booked through BookAppointment, so booking's trigger
// writes their BOOKED events and notifications takes them from the feed.
// Each booking also sends a confirmation at once; those must be out before
// the reminders fall due, and how long they take is not known in advance.
// So the run has two notifications processes on one database:
// 1. the first starts once the appointments are booked and follows the feed with a
//    reminder offset longer than their lead (so it schedules no reminder),
//    and sends every confirmation; it is then stopped;
// 2. the feed cursor is put back to where the first began, and the second
//    starts with the offset that makes the reminders due once it should
//    have applied the events again (replayMarginMs).
//    It applies the same events again, as after a cursor reset: the
//    confirmations exist and are left as they are (one row per message), so
//    only the reminders are new, all due at one instant.
// Only the reminders are measured: from their due time (the row's
// scheduled_time) to the sink's 250 after DATA.

/** How far ahead the appointments start: longer than everything before the reminders fall due. */
const BOOKING_LEAD_MS = 2 * 3_600_000;
/** The first process's reminder offset: longer than the lead, so no reminder is scheduled. */
const CONFIRMATION_ONLY_OFFSETS = '14d';

/** A reminder not accepted this long after its due time counts as undelivered. */
const deliveryTimeoutMs = (count: number) => Math.max(60_000, 60 * count);

/** The settings notifications runs with (its defaults, or what the environment says), read as the service reads them. */
function notificationsEnv(db: NotificationsDatabase, sink: TimedSmtpSink, offsets: string) {
  const env = { NOTIFY_REMINDER_OFFSETS: offsets };
  const config = loadNotificationsConfig({ ...process.env, ...TEST_SECRETS_ENV, NOTIFICATIONS_DATABASE_URL: db.url, NOTIFY_SMTP_URL: sink.url, ...env });
  return { env, sendConcurrency: config.NOTIFY_SEND_CONCURRENCY, pollIntervalMs: config.NOTIFY_POLL_INTERVAL_MS, from: config.NOTIFY_MAIL_FROM };
}

function startFor(ctx: BenchContext, db: NotificationsDatabase, sink: TimedSmtpSink, offsets: string): Promise<ServiceProcess> {
  const { env } = notificationsEnv(db, sink, offsets);
  return startNotifications({ services: ctx.services, databaseUrl: db.url, smtpUrl: sink.url, pool: Math.max(4, ctx.options.pool), env, cpuProfDir: ctx.options.cpuProf ? `${ctx.options.outDir}/profiles` : undefined });
}

const feedCursor = async (db: NotificationsDatabase) => Number((await db.sql.query<{ p: string }>('SELECT max(position)::text AS p FROM feed_cursor')).rows[0].p);

/** nodemailer alone: as many e-mails, rendered alike, from `concurrency` loops over as many pooled connections. */
async function baseline(sink: TimedSmtpSink, plan: ReminderPlan, concurrency: number, from: string): Promise<{ run: BaselineRun; sinkCpuMs: number }> {
  const clinic = plan.clinics[0];
  const cpu0 = process.cpuUsage();
  const run = await runSmtpBaseline({
    smtpUrl: sink.url,
    count: plan.slotIds.length,
    concurrency,
    from,
    recipientPattern: plan.recipientPattern,
    facts: { kind: 'reminder', doctorName: 'Dr. Reminder 1', clinicName: clinic.displayName, clinicAddress: clinic.address, clinicTimeZone: clinic.timeZone, startTime: plan.startTime.toISOString() },
    reminderOffsetMs: 3_600_000,
  });
  const cpu = process.cpuUsage(cpu0);
  return { run, sinkCpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Resolves with the epoch ms at which notifications' feed cursor reached `position`; undefined if not by `deadline`. */
async function cursorReached(db: NotificationsDatabase, position: number, deadline: number): Promise<number | undefined> {
  try {
    return await pollUntil(`feed cursor at ${position}`, async () => ((await feedCursor(db)) >= position ? Date.now() : undefined), Math.max(0, deadline - Date.now()), 100);
  } catch {
    return undefined;
  }
}

/**
 * Phase 1: books the appointments (their events wait in booking's feed),
 * then a first notifications process applies them and sends every
 * confirmation; it is stopped once nothing is left scheduled. How long it
 * took from its start to apply every event tells how long the second will.
 */
async function bookAndConfirm(ctx: BenchContext, db: NotificationsDatabase, sink: TimedSmtpSink, plan: ReminderPlan) {
  const booking = await bookPlan(ctx, plan);
  const cursorEnd = await settledFeedPosition(ctx);
  const expected = new Set(booking.appointmentIds.map((id) => messageIdOf(id, 'confirmation', 'email')));
  const timeoutMs = 120_000 + 100 * expected.size;
  const startedAt = Date.now();
  const notifications = await startFor(ctx, db, sink, CONFIRMATION_ONLY_OFFSETS);
  try {
    say(ctx.options.quiet, `reminders: ${expected.size} confirmations going out`);
    const appliedAt = await cursorReached(db, cursorEnd, startedAt + timeoutMs);
    if (appliedAt === undefined) throw new Error(`notifications did not apply the ${expected.size} BOOKED events within ${timeoutMs / 1000} s`);
    await sink.waitForDistinct((id) => expected.has(id), expected.size, startedAt + timeoutMs - Date.now());
    const settled = async () => {
      const { rows } = await db.sql.query<{ scheduled: number }>(`SELECT count(*) FILTER (WHERE status = 'scheduled')::int AS scheduled FROM notification`);
      return rows[0].scheduled === 0 ? true : undefined;
    };
    await pollUntil('every confirmation sent or skipped', settled, Math.max(1_000, startedAt + timeoutMs - Date.now()), 200);
    return { booking, applyMs: appliedAt - startedAt, confirmationSeconds: Math.round((Date.now() - startedAt) / 100) / 10, cursorEnd };
  } finally {
    await notifications.stop('SIGTERM');
  }
}

const sleepUntil = (epoch: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, epoch - Date.now())));

/**
 * How long the second process gets to start and apply every event again
 * before the reminders are due: half as long again as the first took, but
 * no more than 30 s plus 20 ms an event. The first applied them while its
 * workers sent the confirmations, and was far slower for it (10,000 events:
 * 445 s, against 41 s for the second, on a busy machine); a late replay is
 * reported as a failure, not measured.
 */
const replayMarginMs = (firstApplyMs: number, events: number) => 5_000 + Math.min(1.5 * firstApplyMs, 30_000 + 20 * events);

/** Phase 2: the second process, the reminders due once it should have applied the events again; CPU from the due time until every reminder row is settled. */
async function reminderBurst(ctx: BenchContext, db: NotificationsDatabase, sink: TimedSmtpSink, plan: ReminderPlan, appointmentIds: string[], phase1: { applyMs: number; cursorEnd: number }): Promise<BurstWindow> {
  const { cursorEnd } = phase1;
  const dueAt = Math.ceil((Date.now() + replayMarginMs(phase1.applyMs, appointmentIds.length)) / 1000) * 1000;
  const offsetMs = plan.startTime.getTime() - dueAt;
  const startedAt = Date.now();
  const notifications = await startFor(ctx, db, sink, `${offsetMs / 1000}s`);
  try {
    const replayedAt = await cursorReached(db, cursorEnd, dueAt + 60_000);
    const expected = new Set(appointmentIds.map((id) => messageIdOf(id, 'reminder', 'email', offsetMs)));
    await sleepUntil(dueAt);
    const watched = { services: { ...servicePids(ctx.services), notifications: notifications.pid }, postgresPid: ctx.server.postgresPid };
    await resetStatements(ctx);
    const before = cpuSnapshot(watched);
    const t0 = performance.now();
    say(ctx.options.quiet, `reminders: ${expected.size} due now`);
    const timeoutMs = deliveryTimeoutMs(expected.size);
    await sink.waitForDistinct((id) => expected.has(id), expected.size, dueAt + timeoutMs - Date.now());
    const unsettled = async () => (await db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM notification WHERE status = 'scheduled'`)).rows[0].n;
    await pollUntil('every reminder row settled', async () => ((await unsettled()) === 0 ? true : undefined), 30_000, 100).catch(() => undefined);
    const after = cpuSnapshot(watched);
    const wallMs = performance.now() - t0;
    const statements = await topStatements(ctx, [db.name, ctx.dataset.catalogDb, ctx.dataset.bookingDb]);
    // catalog's and booking's since the scenario began, notifications' since it started.
    const peakRssMb = peakRssMbOf({ ...servicePids(ctx.services), notifications: notifications.pid });
    return { dueAt, offsetMs, expected, replayMs: replayedAt === undefined ? undefined : replayedAt - startedAt, replayedAt, before, after, wallMs, peakRssMb, timeoutMs, statements };
  } finally {
    await notifications.stop('SIGTERM');
  }
}

/** The reminders scenario; see the comment at the top. */
export async function remindersScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const count = ctx.options.reminders;
  for (const pid of Object.values(servicePids(ctx.services))) if (pid) resetPeakRss(pid);
  // Built now, so that the first process's start (which sets the second's margin) does not include it.
  await buildBundle('notifications');
  const sink = await startTimedSmtpSink();
  const db = await notificationsDatabase(ctx);
  try {
    const plan = await planReminders(ctx, count, new Date(Math.ceil((Date.now() + BOOKING_LEAD_MS) / 1000) * 1000));
    const settings = notificationsEnv(db, sink, CONFIRMATION_ONLY_OFFSETS);
    const from = await settledFeedPosition(ctx);
    await db.setCursor(from);
    const phase1 = await bookAndConfirm(ctx, db, sink, plan);
    await db.setCursor(from);
    const burst = await reminderBurst(ctx, db, sink, plan, phase1.booking.appointmentIds, phase1);
    // Right after the burst, so that the two meet the machine in the same state: on a shared
    // machine, a baseline measured before the set-up (minutes earlier) varied by half.
    say(ctx.options.quiet, `reminders: nodemailer baseline, ${count} e-mails from ${settings.sendConcurrency} loops`);
    const base = await baseline(sink, plan, settings.sendConcurrency, settings.from);
    return await reminderFigures({ ctx, db, sink, plan, settings, baseline: base, phase1, burst });
  } finally {
    await sink.stop();
    await db.close();
  }
}
