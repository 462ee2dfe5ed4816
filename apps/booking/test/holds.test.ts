import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentEventType, AppointmentStatus, type Appointment, type Patient } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { expectGrpcError, pollUntil } from '@carebook/testing';
import { book, createPatient, createSchedule, expectRefused, insertAppointment, newRequestId, storedSlot } from './booking-fixtures';
import { feedClient } from './feed-client';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

// HoldAppointment and ConfirmAppointment through real gRPC, booking calling a
// real catalog: a hold, its confirmation, its lapse (by the confirmation, by
// the reconciler, or by another patient's claim), its cancellation, and what
// the event feed tells of each. docs/booking-protocol.md, section 4.

let sys: BookingUnderTest;
let patient: Patient;
let other: Patient;
let slots: Slot[];
let nextSlot = 0;

beforeAll(async () => {
  sys = await startBookingUnderTest();
  [patient, other] = [await createPatient(sys.client), await createPatient(sys.client, { displayName: 'Max Mustermann' })];
  ({ slots } = await createSchedule(sys.catalog.client, 24));
});
afterAll(() => sys?.close());

const freshSlot = () => slots[nextSlot++];
const ms = (n: number) => ({ seconds: Math.floor(n / 1000), nanos: (n % 1000) * 1_000_000 });

async function hold(slot: Slot, holdMs?: number, who: Patient = patient, requestId = newRequestId()): Promise<Appointment> {
  const { appointment } = await sys.client.holdAppointment({
    slotId: slot.id,
    patientId: who.id,
    requestId,
    reason: 'check-up',
    holdDuration: holdMs === undefined ? undefined : ms(holdMs),
  });
  return appointment!;
}

async function storedHold(id: string) {
  const { rows } = await sys.sql.query('SELECT status::text, hold_duration_ms, hold_expire_time FROM appointment WHERE id = $1', [id]);
  return rows[0];
}

async function catalogHoldOf(slotId: string): Promise<Date | null> {
  return (await sys.catalog.sql.query('SELECT hold_expire_time FROM slot WHERE id = $1', [slotId])).rows[0].hold_expire_time;
}

/** The feed's events of one appointment, by type. */
async function eventsOf(appointmentId: string): Promise<string[]> {
  const { rows } = await sys.sql.query('SELECT type::text FROM appointment_event WHERE appointment_id = $1 OR replaced_appointment_id = $1 ORDER BY seq', [appointmentId]);
  return rows.map((r) => r.type);
}

/** Waits until the booking database's clock is `afterMs` past `instant` (both databases share one server here). */
async function untilPast(instant: Date, afterMs = 0): Promise<void> {
  await pollUntil(
    'the database clock to pass the instant',
    async () => ((await sys.sql.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0].now > new Date(+instant + afterMs) ? true : undefined),
    10_000,
    20,
  );
}

/**
 * Books `slot` for the other patient, retrying while this booking process's
 * slot gate still remembers the slot taken by the hold (for a second; a slot
 * freed elsewhere than by this process's own call may be refused that long).
 */
const bookOnceGateForgets = (slot: Slot) =>
  pollUntil('the booking to win the freed slot', async () => book(sys, other, slot).catch(() => undefined), 5_000, 100);

describe('HoldAppointment', () => {
  it("holds the slot for 10 minutes by default: the appointment is HELD until catalog's instant, and the feed tells nothing", async () => {
    const slot = freshSlot();
    const held = await hold(slot);
    expect(held).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_HELD, slotId: slot.id, patientId: patient.id, reason: 'check-up' });
    const catalogExpiry = await catalogHoldOf(slot.id);
    expect(held.holdExpireTime).toEqual(catalogExpiry);
    const { rows } = await sys.catalog.sql.query<{ left: number }>('SELECT extract(epoch FROM hold_expire_time - now())::float8 AS left FROM slot WHERE id = $1', [slot.id]);
    expect(rows[0].left).toBeGreaterThan(590);
    expect(rows[0].left).toBeLessThanOrEqual(600);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'held', claim_id: held.id });
    expect(await storedHold(held.id)).toEqual({ status: 'held', hold_duration_ms: 600_000, hold_expire_time: catalogExpiry });
    expect((await sys.client.getAppointment({ id: held.id })).appointment).toEqual(held);
    await sys.service.sequencer.runOnce();
    expect(await eventsOf(held.id)).toEqual([]);
  });

  it('is idempotent per request_id; another duration, or a BookAppointment, with it is REQUEST_ID_REUSED', async () => {
    const slot = freshSlot();
    const requestId = newRequestId();
    const first = await hold(slot, 60_000, patient, requestId);
    expect(await hold(slot, 60_000, patient, requestId)).toEqual(first);
    await expectRefused(sys, () => hold(slot, 30_000, patient, requestId), status.FAILED_PRECONDITION, { reason: 'REQUEST_ID_REUSED' });
    await expectRefused(sys, () => sys.client.bookAppointment({ slotId: slot.id, patientId: patient.id, requestId, reason: 'check-up' }), status.FAILED_PRECONDITION, {
      reason: 'REQUEST_ID_REUSED',
    });
  });

  it('keeps other patients out while it runs, whether they book or hold', async () => {
    const slot = freshSlot();
    const held = await hold(slot, 60_000);
    for (const attempt of [() => book(sys, other, slot), () => hold(slot, 60_000, other)]) {
      await expectGrpcError(attempt(), status.FAILED_PRECONDITION, { reason: 'SLOT_UNAVAILABLE' });
    }
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'held', claim_id: held.id });
  });
});

describe('ConfirmAppointment', () => {
  it('books a held appointment while its hold runs, telling the feed exactly one BOOKED event; confirming again changes nothing', async () => {
    const slot = freshSlot();
    const held = await hold(slot, 60_000);
    const { appointment } = await sys.client.confirmAppointment({ id: held.id });
    expect(appointment).toMatchObject({ id: held.id, status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED, holdExpireTime: held.holdExpireTime });
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: held.id });
    expect(await catalogHoldOf(slot.id)).toBeNull();
    const again = await sys.client.confirmAppointment({ id: held.id });
    expect(again.appointment).toEqual(appointment);
    await sys.service.sequencer.runOnce();
    expect(await eventsOf(held.id)).toEqual(['booked']);
    // Read through the feed once the sequencer (which runs in the background too) has positioned it.
    const feed = feedClient(sys.service.port);
    const told = await pollUntil('the BOOKED event in the feed', async () => {
      const { events } = await feed.listAppointmentEvents({ afterPosition: 0, pageSize: 1000 });
      const ours = events.filter((e) => e.appointment?.id === held.id);
      return ours.length > 0 ? ours : undefined;
    });
    feed.close();
    expect(told.map((e) => [e.type, e.appointment?.status])).toEqual([[AppointmentEventType.APPOINTMENT_EVENT_TYPE_BOOKED, AppointmentStatus.APPOINTMENT_STATUS_BOOKED]]);
  });

  it('after the hold lapsed answers HOLD_EXPIRED, the appointment is EXPIRED, and another patient books the slot', async () => {
    const slot = freshSlot();
    const held = await hold(slot, 1000);
    await untilPast(held.holdExpireTime!);
    const err = await expectGrpcError(sys.client.confirmAppointment({ id: held.id }), status.FAILED_PRECONDITION, { reason: 'HOLD_EXPIRED' });
    expect(err.errorInfo?.metadata).toEqual({ appointment_id: held.id, slot_id: slot.id });
    const { appointment } = await sys.client.getAppointment({ id: held.id });
    expect(appointment).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_EXPIRED, holdExpireTime: held.holdExpireTime });
    // The hold's release was delivered at once: the slot is open again.
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
    const booked = await book(sys, other, slot);
    expect(booked.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);
    // Confirming it again: HOLD_EXPIRED, and nothing written.
    await expectRefused(sys, () => sys.client.confirmAppointment({ id: held.id }), status.FAILED_PRECONDITION, { reason: 'HOLD_EXPIRED' });
    await sys.service.sequencer.runOnce();
    expect(await eventsOf(held.id)).toEqual([]);
  });

  it('refuses a cancelled or failed appointment with APPOINTMENT_NOT_HELD, writing nothing', async () => {
    const cancelled = await hold(freshSlot(), 60_000);
    await sys.client.cancelAppointment({ id: cancelled.id, reason: '' });
    const taken = freshSlot();
    await book(sys, other, taken);
    await expectGrpcError(book(sys, patient, taken), status.FAILED_PRECONDITION, { reason: 'SLOT_UNAVAILABLE' });
    const failed = (await sys.sql.query("SELECT id::text FROM appointment WHERE slot_id = $1 AND status = 'failed'", [taken.id])).rows[0];
    for (const id of [cancelled.id, failed.id]) {
      await expectRefused(sys, () => sys.client.confirmAppointment({ id }), status.FAILED_PRECONDITION, { reason: 'APPOINTMENT_NOT_HELD' });
    }
  });

  it('returns a booked appointment unchanged', async () => {
    const booked = await book(sys, patient, freshSlot());
    expect((await sys.client.confirmAppointment({ id: booked.id })).appointment).toEqual(booked);
  });
});

describe('a lapsed hold', () => {
  it('is settled EXPIRED by the reconciler once lapsed longer than the clock skew bound, and its slot opened', async () => {
    const slot = freshSlot();
    const held = await hold(slot, 300);
    await untilPast(held.holdExpireTime!, 600);
    await sys.service.reconciler.reconcileOnce();
    expect(await storedHold(held.id)).toMatchObject({ status: 'expired' });
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
    expect(await bookOnceGateForgets(slot)).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED });
  });

  it('whose confirmation landed in catalog unanswered is settled BOOKED by the reconciler, with its event', async () => {
    const slot = freshSlot();
    const held = await hold(slot, 300);
    // The confirmation's claim, as booking sends it; its answer never reaches booking.
    await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: held.id, deadline: held.holdExpireTime });
    await untilPast(held.holdExpireTime!, 600);
    await sys.service.reconciler.reconcileOnce();
    expect(await storedHold(held.id)).toMatchObject({ status: 'booked' });
    await sys.service.sequencer.runOnce();
    expect(await eventsOf(held.id)).toEqual(['booked']);
  });

  it('is taken by another patient before the reconciler ran: their booking settles the stale hold EXPIRED', async () => {
    const slot = freshSlot();
    const held = await hold(slot, 300);
    await untilPast(held.holdExpireTime!);
    const booked = await bookOnceGateForgets(slot);
    expect(booked.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);
    expect(await storedHold(held.id)).toMatchObject({ status: 'expired' });
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: booked.id });
  });

  it('of a PENDING hold interrupted after its claim is settled HELD by the reconciler, with catalog\'s instant', async () => {
    const slot = freshSlot();
    const id = await insertAppointment(sys.sql, { patientId: patient.id, slot, ageMs: 10_000 });
    await sys.sql.query('UPDATE appointment SET hold_duration_ms = 60000 WHERE id = $1', [id]);
    const { slot: claimed } = await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: id, holdDuration: ms(60_000) });
    await sys.service.reconciler.reconcileOnce();
    expect(await storedHold(id)).toEqual({ status: 'held', hold_duration_ms: 60_000, hold_expire_time: claimed!.holdExpireTime });
  });
});

describe('CancelAppointment of a held appointment', () => {
  it('frees the slot at once for another patient, and tells the feed nothing', async () => {
    const slot = freshSlot();
    const held = await hold(slot, 60_000);
    const { appointment } = await sys.client.cancelAppointment({ id: held.id, reason: 'changed my mind' });
    expect(appointment).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_CANCELLED, cancelReason: 'changed my mind' });
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
    expect(await book(sys, other, slot)).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED });
    await sys.service.sequencer.runOnce();
    expect(await eventsOf(held.id)).toEqual([]);
  });
});
