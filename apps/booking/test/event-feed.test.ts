import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentEventType, AppointmentStatus, Canceller, type BookingClient, type Patient } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { expectGrpcError, pollUntil } from '@carebook/testing';
import { book, createPatient, createSchedule, newRequestId, type Schedule } from './booking-fixtures';
import { feedClient, watchFeed } from './feed-client';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

let sys: BookingUnderTest;
let feed: BookingClient;
let schedule: Schedule;
let alice: Patient;
let used = 0;

beforeAll(async () => {
  sys = await startBookingUnderTest();
  feed = feedClient(sys.service.port);
  schedule = await createSchedule(sys.catalog.client, 20);
  alice = await createPatient(sys.client, { displayName: 'Alice' });
});
afterAll(async () => {
  feed?.close();
  await sys?.close();
});

const freshSlot = (): Slot => schedule.slots[used++];

/** Every event the feed has now, read with ListAppointmentEvents from the start. */
async function allEvents() {
  // The sequencer's own loop may hold its lock, and runOnce then leaves the
  // events to it: wait until every committed event has its position.
  await pollUntil('every event positioned', async () => {
    await sys.service.sequencer.runOnce();
    const { rows } = await sys.sql.query('SELECT count(*)::int AS waiting FROM appointment_event WHERE position IS NULL');
    return rows[0].waiting === 0 ? true : undefined;
  });
  return (await feed.listAppointmentEvents({ afterPosition: 0, pageSize: 1000 })).events;
}

describe('the appointment event feed', () => {
  it('records a booking, a cancellation (who and why) and a reschedule (old and new), one event each, in order', async () => {
    const before = (await allEvents()).length;
    const first = await book(sys, alice, freshSlot());
    const { appointment: moved } = await sys.client.rescheduleAppointment({ id: first.id, newSlotId: freshSlot().id, requestId: newRequestId() });
    await sys.client.cancelAppointment({ id: moved!.id, reason: 'doctor unwell', cancelledBy: Canceller.CANCELLER_CLINIC });

    const events = (await allEvents()).slice(before);
    expect(events.map((e) => e.type)).toEqual([
      AppointmentEventType.APPOINTMENT_EVENT_TYPE_BOOKED,
      AppointmentEventType.APPOINTMENT_EVENT_TYPE_RESCHEDULED,
      AppointmentEventType.APPOINTMENT_EVENT_TYPE_CANCELLED,
    ]);
    const [booked, rescheduled, cancelled] = events;
    expect(booked.appointment).toMatchObject({ id: first.id, status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED, startTime: first.startTime });
    expect(booked.replacedAppointment).toBeUndefined();
    // The reschedule is one event: the new appointment booked, the old one cancelled by it.
    expect(rescheduled.appointment).toMatchObject({ id: moved!.id, status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED, replacesAppointmentId: first.id });
    expect(rescheduled.replacedAppointment).toMatchObject({
      id: first.id,
      status: AppointmentStatus.APPOINTMENT_STATUS_CANCELLED,
      cancelReason: 'rescheduled',
      cancelledBy: Canceller.CANCELLER_UNSPECIFIED,
    });
    expect(cancelled.appointment).toMatchObject({
      id: moved!.id,
      status: AppointmentStatus.APPOINTMENT_STATUS_CANCELLED,
      cancelReason: 'doctor unwell',
      cancelledBy: Canceller.CANCELLER_CLINIC,
    });
    // Dense positions, one past the other, and times from the database's clock, in order.
    expect(events.map((e) => e.position)).toEqual([before + 1, before + 2, before + 3]);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
    expect(+cancelled.eventTime!).toBeGreaterThanOrEqual(+booked.eventTime!);
  });

  it('records nothing for a booking that fails', async () => {
    const slot = freshSlot();
    await book(sys, alice, slot);
    const before = (await allEvents()).length;
    const bob = await createPatient(sys.client, { displayName: 'Bob' });
    await expectGrpcError(sys.client.bookAppointment({ slotId: slot.id, patientId: bob.id, requestId: newRequestId(), reason: '' }), status.FAILED_PRECONDITION, {
      reason: 'SLOT_UNAVAILABLE',
    });
    expect((await allEvents()).length).toBe(before);
  });

  it('streams the events after the cursor, then each new one as it commits', async () => {
    const start = (await allEvents()).length;
    const watch = watchFeed(feed, Math.max(0, start - 1));
    await watch.waitFor(1);
    const appointment = await book(sys, alice, freshSlot());
    const [, pushed] = await watch.waitFor(2);
    expect(pushed).toMatchObject({ position: start + 1, type: AppointmentEventType.APPOINTMENT_EVENT_TYPE_BOOKED, appointment: { id: appointment.id } });
    watch.cancel();
  });

  it('is closed to callers without the internal credential', async () => {
    await expectGrpcError(sys.client.listAppointmentEvents({ afterPosition: 0, pageSize: 0 }), status.UNAUTHENTICATED, { reason: 'CREDENTIAL_MISSING' });
    const watch = watchFeed(sys.client, 0);
    await expect.poll(() => watch.ended).toBe(true);
    expect(watch.error?.code).toBe(status.UNAUTHENTICATED);
    expect(watch.events).toEqual([]);
  });

  it('refuses a cursor beyond the feed, a negative one and a bad page size, naming the field', async () => {
    const { latestPosition } = await feed.listAppointmentEvents({ afterPosition: 0, pageSize: 1 });
    const beyond = await expectGrpcError(feed.listAppointmentEvents({ afterPosition: latestPosition + 1, pageSize: 0 }), status.INVALID_ARGUMENT, {
      field: 'after_position',
    });
    expect(beyond.badRequest?.fieldViolations[0].description).toContain(`latest position ${latestPosition}`);
    await expectGrpcError(feed.listAppointmentEvents({ afterPosition: -1, pageSize: 0 }), status.INVALID_ARGUMENT, { field: 'after_position' });
    await expectGrpcError(feed.listAppointmentEvents({ afterPosition: 0, pageSize: 1001 }), status.INVALID_ARGUMENT, { field: 'page_size' });
  });

  it('keeps events for the retention period; a cursor older than that gets CURSOR_EXPIRED, a newer one reads on', async () => {
    await book(sys, alice, freshSlot());
    const events = await allEvents();
    const oldest = events.length - 1;
    // Age every event but the last past retention (30 days), by the database's own clock.
    await sys.sql.query(`UPDATE appointment_event SET event_time = now() - interval '31 days' WHERE position <= $1`, [oldest]);
    await sys.service.pruneEvents();

    const expired = await expectGrpcError(feed.listAppointmentEvents({ afterPosition: oldest - 1, pageSize: 0 }), status.FAILED_PRECONDITION, {
      reason: 'CURSOR_EXPIRED',
    });
    expect(expired.errorInfo?.metadata).toMatchObject({ oldest_position: String(oldest + 1) });
    const watch = watchFeed(feed, 0);
    await expect.poll(() => watch.ended).toBe(true);
    expect(watch.error?.code).toBe(status.FAILED_PRECONDITION);
    const rest = await feed.listAppointmentEvents({ afterPosition: oldest, pageSize: 0 });
    expect(rest.events.map((e) => e.position)).toEqual([oldest + 1]);
    // Positions go on from where they were, never reused.
    await book(sys, alice, freshSlot());
    await sys.service.sequencer.runOnce();
    const after = await feed.listAppointmentEvents({ afterPosition: oldest, pageSize: 0 });
    expect(after.events.map((e) => e.position)).toEqual([oldest + 1, oldest + 2]);
  });
});
