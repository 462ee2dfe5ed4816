// Group commit of SENT records (delivery/sent-records.ts), against a real
// notifications database: the messages accepted while a record is on its
// way go in the next statement together, each learns whether its row was
// still SCHEDULED, and a record alone goes at once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase } from '@carebook/testing';
import { createNotificationsDatabase } from '../src/db';
import { sentRecords } from '../src/delivery/sent-records';
import { notificationsRepo } from '../src/notifications/repo';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let database: ReturnType<typeof createNotificationsDatabase>;

beforeAll(async () => {
  db = await createTestDatabase('notifications');
  database = createNotificationsDatabase(db.url, 4);
});

afterAll(async () => {
  await database.prisma.$disconnect();
  await database.sql.end();
  await db.drop();
});

/** `count` SCHEDULED e-mail reminders of one appointment; their ids. */
async function scheduledRows(count: number): Promise<string[]> {
  const { rows } = await database.sql.query<{ id: string }>(
    `INSERT INTO notification (appointment_id, patient_id, event_id, channel, kind, reminder_offset_ms, appointment_start_time, scheduled_time)
     SELECT $1, $2, $3, 'email', 'reminder', n * 60000, date_trunc('second', now()) + interval '1 day', date_trunc('second', now()) + interval '1 day' - n * interval '1 minute'
       FROM generate_series(1, $4::int) AS n RETURNING id`,
    [randomUUID(), randomUUID(), randomUUID(), count],
  );
  return rows.map((row) => row.id);
}

it('records the messages accepted while a record is in flight in one statement, and says which rows were still SCHEDULED', async () => {
  const repo = notificationsRepo(database.sql, database.prisma);
  const statements: number[] = [];
  const recordSent = sentRecords({
    markSent: (ids) => {
      statements.push(ids.length);
      return repo.markSent(ids);
    },
  });
  const [first, ...rest] = await scheduledRows(11);
  const skipped = rest.pop()!;
  await database.sql.query(`UPDATE notification SET status = 'skipped', skip_reason = 'APPOINTMENT_CANCELLED' WHERE id = $1`, [skipped]);

  const firstRecorded = recordSent(first);
  await new Promise((resolve) => setImmediate(resolve)); // the first statement is on its way
  const restRecorded = Promise.all([...rest, skipped].map((id) => recordSent(id)));

  expect(await firstRecorded).toBe(true);
  expect(await restRecorded).toEqual([...rest.map(() => true), false]);
  expect(statements).toEqual([1, rest.length + 1]);
  const { rows } = await database.sql.query<{ status: string; n: number }>(`SELECT status::text, count(*)::int AS n FROM notification GROUP BY status ORDER BY status`);
  expect(rows).toEqual([
    { status: 'sent', n: 10 },
    { status: 'skipped', n: 1 },
  ]);
});

it('a record alone goes at once', async () => {
  const repo = notificationsRepo(database.sql, database.prisma);
  const recordSent = sentRecords(repo);
  const [id] = await scheduledRows(1);
  expect(await recordSent(id)).toBe(true);
  expect(await recordSent(id)).toBe(false);
});
