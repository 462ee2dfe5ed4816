import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Appointment } from '@carebook/proto/booking';
import { expectGrpcError, freePort, metricValue, pollUntil, scrapeMetrics } from '@carebook/testing';
import { feedClient } from '../../booking/test/feed-client';
import { startNotifyCluster, type NotifyCluster } from './cluster';
import { book, newPatient, notificationsOf, settledNotifications, slotsAhead } from './fixtures';

// notifications is away longer than booking keeps its events. Retention is
// days (BOOKING_EVENT_RETENTION_DAYS, 30 here), so the events are aged in
// booking's database instead of waited for; booking's own pruning, which runs
// at start-up and then hourly, deletes them when booking restarts. When
// notifications comes back its cursor is older than the feed: booking answers
// CURSOR_EXPIRED naming its oldest position, and notifications logs the lost
// range at error level, counts it, and carries on from there.

let c: NotifyCluster;
let metricsPort: number;
beforeAll(async () => {
  metricsPort = await freePort();
  c = await startNotifyCluster({ env: { NOTIFY_REMINDER_OFFSETS: '1h', NOTIFICATIONS_METRICS_PORT: String(metricsPort) } });
});
afterAll(() => c?.close());

const cursor = async () => Number((await c.sql.query<{ position: string }>('SELECT position::text FROM feed_cursor')).rows[0].position);

/** A booking three hours ahead for a new patient (its reminder, an hour before, stays SCHEDULED). */
const bookAhead = async (): Promise<Appointment> => book(c, await newPatient(c), (await slotsAhead(c, 3 * 3_600_000))[0]);

/** Resolves once booking's latest feed position, asked with a cursor at `after`, reaches `position`. */
async function feedReaches(position: number, after = 0): Promise<void> {
  const client = feedClient(c.bookingPort);
  try {
    await pollUntil(`feed at ${position}`, async () => ((await client.listAppointmentEvents({ afterPosition: after, pageSize: 1 })).latestPosition >= position ? true : undefined));
  } finally {
    client.close();
  }
}

it('logs and counts the events lost to retention, and resumes from the oldest position booking still holds', async () => {
  const applied = await bookAhead();
  await settledNotifications(c, applied.id, (rows) => rows.length === 4);
  expect(await cursor()).toBe(1);

  // Away: three bookings happen meanwhile, and the feed ages past retention.
  await c.replicas[0].stop('SIGTERM');
  const lost = [await bookAhead(), await bookAhead(), await bookAhead()];
  await feedReaches(4);
  const aged = await c.bookingSql.query(`UPDATE appointment_event SET event_time = now() - interval '31 days'`);
  expect(aged.rowCount).toBe(4);
  await c.restartBooking();
  const client = feedClient(c.bookingPort);
  try {
    const expired = await pollUntil('the aged events pruned', async () =>
      client.listAppointmentEvents({ afterPosition: 0, pageSize: 1 }).then(
        () => undefined,
        (err: unknown) => err,
      ),
    );
    const refusal = await expectGrpcError(Promise.reject(expired), status.FAILED_PRECONDITION, { reason: 'CURSOR_EXPIRED' });
    expect(refusal.errorInfo?.metadata.oldest_position).toBe('5');
  } finally {
    client.close();
  }
  const kept = [await bookAhead(), await bookAhead()];
  await feedReaches(6, 4);

  const back = await c.startReplica(0);
  for (const a of kept) await settledNotifications(c, a.id, (rows) => rows.length === 4);
  expect(await cursor()).toBe(6);
  for (const a of lost) expect(await notificationsOf(c, a.id), `nothing for lost appointment ${a.id}`).toEqual([]);

  const [line, ...more] = back.errorLogs().filter((l) => l.includes('feed cursor expired'));
  expect(more).toEqual([]);
  expect(JSON.parse(line)).toMatchObject({ msg: 'feed cursor expired: events lost, their messages will not be sent', skippedFrom: 2, skippedTo: 4, count: 3 });
  const metrics = await scrapeMetrics(metricsPort);
  expect(metricValue(metrics, 'carebook_notifications_feed_events_lost_total')).toBe(3);
  expect(metricValue(metrics, 'carebook_notifications_feed_cursor_position')).toBe(6);
  expect(metricValue(metrics, 'carebook_notifications_feed_lag_events')).toBe(0);
}, 120_000);
