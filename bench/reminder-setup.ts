// Set-up of the reminders scenario: notifications' database, and the
// appointments whose reminders fall due together, booked through booking's
// API so that booking's own trigger writes their events to the feed.
import type pg from 'pg';
import { createLogger, migrateDatabase } from '@carebook/server';
import { pollUntil } from '../libs/testing/src/poll';
import { bookingClients, closeAll } from './clients';
import { benchPool, type BenchContext, type BookedAppointment } from './context';
import { createDatabase, dropDatabase } from './database';
import { progressBar } from './progress';
import { migrationsDir } from './seed';
import { book } from './scenarios/book';

/** notifications' database for one run of the scenario. */
export interface NotificationsDatabase {
  name: string;
  url: string;
  /** The harness's own queries (set-up, checks); not measured. */
  sql: pg.Pool;
  /** Puts the feed cursor at `position`: notifications applies the events after it when it next opens the feed. */
  setCursor(position: number): Promise<void>;
  close(): Promise<void>;
}

/** Creates `<prefix>_notifications` afresh and applies notifications' migrations (as the service would at start-up). */
export async function notificationsDatabase(ctx: BenchContext): Promise<NotificationsDatabase> {
  const admin = ctx.server.url('postgres');
  const name = `${ctx.options.prefix}_notifications`;
  await dropDatabase(admin, name);
  await createDatabase(admin, name);
  const url = ctx.server.url(name);
  await migrateDatabase(url, migrationsDir('notifications'), createLogger('bench-migrate', 'warn'));
  const sql = benchPool(url, 2, 0);
  return {
    name,
    url,
    sql,
    async setCursor(position) {
      // One row, the feed consumer's, seeded by the first migration.
      const { rowCount } = await sql.query('UPDATE feed_cursor SET position = $1, update_time = now()', [position]);
      if (!rowCount) throw new Error('notifications has no feed cursor row');
    },
    async close() {
      await sql.end();
      if (ctx.options.dropAfter) await dropDatabase(admin, name);
    },
  };
}

/** booking's latest feed position once every committed event has one (the sequencer runs every 20 ms). */
export async function settledFeedPosition(ctx: BenchContext): Promise<number> {
  return pollUntil('every appointment event positioned', async () => {
    const { rows } = await ctx.bookingSql.query<{ unpositioned: number; latest: string }>(
      `SELECT count(*) FILTER (WHERE position IS NULL)::int AS unpositioned, coalesce(max(position), 0)::text AS latest FROM appointment_event`,
    );
    return rows[0].unpositioned === 0 ? Number(rows[0].latest) : undefined;
  }, 30_000, 50);
}

/** A clinic of the data set, as a message shows it. */
export interface ClinicFacts {
  id: string;
  displayName: string;
  address: string;
  timeZone: string;
}

/** Open slots that all start at `startTime`, and patients with an e-mail address and no phone, one each. */
export interface ReminderPlan {
  startTime: Date;
  slotIds: string[];
  patientIds: string[];
  clinics: ClinicFacts[];
  /** The patients' addresses, `{i}` standing for 1 … count. */
  recipientPattern: string;
}

/** The specialty of the scenario's doctors: no other scenario searches for it. */
const SPECIALTY = 'bench reminders';

/**
 * `count` new doctors at a few of the data set's clinics, each with one open
 * 20-minute slot at `startTime` (a doctor's slots may not overlap), and as
 * many new patients with an e-mail address and no phone: their SMS messages
 * are skipped (NO_CONTACT) after the lookups, and no other scenario books for them.
 */
export async function planReminders(ctx: BenchContext, count: number, startTime: Date): Promise<ReminderPlan> {
  const clinics = (
    await ctx.catalogSql.query<ClinicFacts>(`SELECT id, display_name AS "displayName", address, time_zone AS "timeZone" FROM clinic ORDER BY id LIMIT 8`)
  ).rows;
  const slots = await ctx.catalogSql.query<{ id: string }>(
    `WITH d AS (
       INSERT INTO doctor (clinic_id, display_name, specialty)
       SELECT ($1::uuid[])[(i - 1) % cardinality($1::uuid[]) + 1], 'Dr. Reminder ' || i, $3 FROM generate_series(1, $2::int) i
       RETURNING id, clinic_id, specialty
     ), links AS (
       INSERT INTO doctor_clinic (doctor_id, clinic_id) SELECT id, clinic_id FROM d RETURNING doctor_id
     )
     INSERT INTO slot (doctor_id, specialty, clinic_id, start_time, end_time)
     SELECT d.id, d.specialty, d.clinic_id, $4::timestamptz, $4::timestamptz + interval '20 minutes' FROM d JOIN links l ON l.doctor_id = d.id
     RETURNING id`,
    [clinics.map((c) => c.id), count, SPECIALTY, startTime],
  );
  const recipientPattern = `reminder-${ctx.runTag}-{i}@example.org`;
  const [local, domain] = recipientPattern.split('{i}');
  const patients = await ctx.bookingSql.query<{ id: string }>(
    `INSERT INTO patient (display_name, email, phone, birth_date)
     SELECT 'Reminder Patient ' || i, $2 || i || $3, NULL, date '1950-01-01' + (i % 20000) FROM generate_series(1, $1::int) i
     RETURNING id`,
    [count, local, domain],
  );
  return { startTime, slotIds: slots.rows.map((r) => r.id), patientIds: patients.rows.map((r) => r.id), clinics, recipientPattern };
}

/** Books every slot of `plan` for its patient through BookAppointment, `concurrency` at a time; returns the appointments booked and the other outcomes. */
export async function bookPlan(ctx: BenchContext, plan: ReminderPlan): Promise<{ appointmentIds: string[]; errors: Record<string, number>; seconds: number }> {
  const { concurrency, quiet } = ctx.options;
  const clients = await bookingClients(ctx.services.booking.address, concurrency);
  const booked: BookedAppointment[] = [];
  const errors: Record<string, number> = {};
  const bar = progressBar('reminders: booking', plan.slotIds.length, 'appointments', quiet);
  const t0 = performance.now();
  let next = 0;
  try {
    await Promise.all(
      clients.map(async (client) => {
        for (let i = next++; i < plan.slotIds.length; i = next++) {
          const outcome = await book(ctx, client, plan.slotIds[i], plan.patientIds[i], booked);
          if (outcome !== 'ok') errors[outcome] = (errors[outcome] ?? 0) + 1;
          bar.update(booked.length);
        }
      }),
    );
  } finally {
    closeAll(clients);
  }
  bar.finish();
  return { appointmentIds: booked.map((b) => b.id), errors, seconds: Math.round((performance.now() - t0) / 100) / 10 };
}
