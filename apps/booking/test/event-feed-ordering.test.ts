import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AppointmentEventType, type AppointmentEvent, type BookingClient } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { inspectionPool } from '@carebook/testing';
import type pg from 'pg';
import { createPatient, insertAppointment } from './booking-fixtures';
import { feedClient, watchFeed } from './feed-client';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

// The ordering trap: sequence numbers are handed out in one order and
// committed in another, so a reader that has seen event 12 can miss event 11
// if 11 commits later. Here many writers change appointments at once, a
// quarter of them holding their transaction open after the event row exists
// (the trigger forced to run at once, then a sleep), while two consumers, a
// stream and a pager, read all the while. Both must end with every event
// exactly once, each appointment's events in order.

const APPOINTMENTS = 150;
const WRITERS = 8;

let sys: BookingUnderTest;
let feed: BookingClient;
let writers: pg.Pool;

beforeAll(async () => {
  sys = await startBookingUnderTest();
  feed = feedClient(sys.service.port);
  writers = inspectionPool(sys.databaseUrl, WRITERS);
});
afterAll(async () => {
  feed?.close();
  await writers?.end();
  await sys?.close();
});

/** A slot of catalog's shape: the rows are written directly, so it need not exist there. */
const fakeSlot = (i: number): Slot => {
  const startTime = new Date(Date.now() + 86_400_000 + i * 1_800_000);
  return { id: randomUUID(), doctorId: randomUUID(), clinicId: randomUUID(), startTime, endTime: new Date(+startTime + 1_800_000) } as Slot;
};

/** One status change in its own transaction; a slow one records its event at once and holds the transaction open. */
async function change(id: string, to: 'booked' | 'cancelled', slow: boolean): Promise<void> {
  const client = await writers.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      to === 'booked'
        ? `UPDATE appointment SET status = 'booked' WHERE id = $1`
        : `UPDATE appointment SET status = 'cancelled', cancel_reason = 'test', cancelled_by = 'patient' WHERE id = $1`,
      [id],
    );
    if (slow) {
      await client.query('SET CONSTRAINTS appointment_event_on_status_change IMMEDIATE');
      await client.query('SELECT pg_sleep($1)', [0.05 + Math.random() * 0.25]);
    }
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

/** Pages through the feed with ListAppointmentEvents until it has read `target()` events (unknown while writers write). */
async function pageThrough(target: () => number | undefined): Promise<AppointmentEvent[]> {
  const seen: AppointmentEvent[] = [];
  for (;;) {
    const { events } = await feed.listAppointmentEvents({ afterPosition: seen.at(-1)?.position ?? 0, pageSize: 7 });
    seen.push(...events);
    const wanted = target();
    if (wanted !== undefined && seen.length >= wanted) return seen;
    if (events.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function expectEveryEventOnceInOrder(events: AppointmentEvent[], ids: string[], appointmentIds: string[]) {
  expect(events.map((e) => e.position)).toEqual(events.map((_, i) => i + 1));
  expect(events.map((e) => e.id).sort()).toEqual([...ids].sort());
  for (const id of appointmentIds) {
    const types = events.filter((e) => e.appointment?.id === id).map((e) => e.type);
    expect(types, `events of appointment ${id}`).toEqual([AppointmentEventType.APPOINTMENT_EVENT_TYPE_BOOKED, AppointmentEventType.APPOINTMENT_EVENT_TYPE_CANCELLED]);
  }
}

it('never skips an event: concurrent writers with slow transactions, two consumers reading all the while, every event once and in order', async () => {
  const patient = await createPatient(sys.client);
  const ids: string[] = [];
  for (let i = 0; i < APPOINTMENTS; i++) ids.push(await insertAppointment(sys.sql, { patientId: patient.id, slot: fakeSlot(i) }));

  const watch = watchFeed(feed, 0);
  let total: number | undefined = undefined;
  const paged = pageThrough(() => total);
  const queue = [...ids];
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      for (let id = queue.shift(); id; id = queue.shift()) {
        await change(id, 'booked', Math.random() < 0.25);
        await change(id, 'cancelled', Math.random() < 0.25);
      }
    }),
  );

  const { rows } = await sys.sql.query<{ id: string }>('SELECT id::text FROM appointment_event');
  expect(rows).toHaveLength(2 * APPOINTMENTS);
  const stored = rows.map((r) => r.id);
  total = stored.length;
  // The trap was really there: some events committed in another order than
  // their sequence numbers, so a reader going by seq would have skipped them.
  const { rows: inversions } = await sys.sql.query<{ count: number }>(
    'SELECT count(*)::int AS count FROM appointment_event a JOIN appointment_event b ON a.seq < b.seq AND a.position > b.position',
  );
  expect(inversions[0].count).toBeGreaterThan(0);
  expectEveryEventOnceInOrder(await paged, stored, ids);
  const last = stored.length;
  expect((await feed.listAppointmentEvents({ afterPosition: last, pageSize: 0 })).events).toEqual([]);
  const streamed = await watch.waitFor(stored.length);
  // Nothing more arrives later: no duplicate was on its way.
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(watch.error).toBeUndefined();
  expectEveryEventOnceInOrder(watch.events, stored, ids);
  expect(streamed).toHaveLength(stored.length);
  watch.cancel();
});
