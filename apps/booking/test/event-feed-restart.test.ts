import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger, createMetricsRegistry } from '@carebook/server';
import type { BookingClient, Patient } from '@carebook/proto/booking';
import { book, createPatient, createSchedule, type Schedule } from './booking-fixtures';
import { feedClient, watchFeed } from './feed-client';
import { startBookingUnderTest, TEST_BOOKING_OPTIONS, TEST_VIDEO_ROOMS, type BookingUnderTest } from './harness';
import { startBookingService, type RunningBooking } from '../src/server';

// A consumer keeps its cursor, not its connection: when the replica it
// watches stops, the stream ends with UNAVAILABLE at once, and watching
// another replica from the last position received goes on with nothing
// missed and nothing repeated. Bookings go through the harness's replica
// throughout, so the events of one replica reach the watchers of another.

let sys: BookingUnderTest;
let schedule: Schedule;
let patient: Patient;
let used = 0;

beforeAll(async () => {
  sys = await startBookingUnderTest();
  schedule = await createSchedule(sys.catalog.client, 6);
  patient = await createPatient(sys.client);
});
afterAll(() => sys?.close());

/** Another booking replica on the same database. */
async function startReplica(): Promise<{ replica: RunningBooking; feed: BookingClient }> {
  const replica = await startBookingService(
    {
      prisma: sys.prisma,
      sql: sys.sql,
      catalog: sys.catalogClientOfBooking,
      log: createLogger('booking', process.env.TEST_LOG_LEVEL ?? 'silent'),
      metrics: createMetricsRegistry('booking'),
      databaseUrl: sys.databaseUrl,
      videoRooms: TEST_VIDEO_ROOMS,
    },
    { ...TEST_BOOKING_OPTIONS, port: 0 },
  );
  return { replica, feed: feedClient(replica.port) };
}

it('resumes from the cursor on another replica after the one watched stops, with nothing missed or repeated', async () => {
  const first = await startReplica();
  const watch = watchFeed(first.feed, 0);
  const booked = [await book(sys, patient, schedule.slots[used++]), await book(sys, patient, schedule.slots[used++])];
  await watch.waitFor(2);

  const stopping = Date.now();
  await first.replica.shutdown();
  await expect.poll(() => watch.ended).toBe(true);
  // Ended by the shutdown, at once, not after the grace period for calls.
  expect(Date.now() - stopping).toBeLessThan(TEST_BOOKING_OPTIONS.shutdownGraceMs);
  expect(watch.error?.code).toBe(status.UNAVAILABLE);
  first.feed.close();
  const cursor = watch.events.at(-1)!.position;

  booked.push(await book(sys, patient, schedule.slots[used++]));
  const second = await startReplica();
  try {
    const resumed = watchFeed(second.feed, cursor);
    booked.push(await book(sys, patient, schedule.slots[used++]));
    await resumed.waitFor(2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([...watch.events, ...resumed.events].map((e) => e.appointment?.id)).toEqual(booked.map((a) => a.id));
    expect(resumed.events.map((e) => e.position)).toEqual([cursor + 1, cursor + 2]);
    resumed.cancel();
  } finally {
    second.feed.close();
    await second.replica.shutdown();
  }
});
