import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentStatus, type Patient } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { expectGrpcError } from '@carebook/testing';
import {
  book,
  bookingSnapshot,
  createPatient,
  createSchedule,
  expectRefused,
  insertAppointment,
  newRequestId,
  releasesOf,
  storedAppointment,
  storedSlot,
  type Schedule,
} from './booking-fixtures';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

let sys: BookingUnderTest;
let schedule: Schedule;
let alice: Patient;
let bob: Patient;
let used = 0;

beforeAll(async () => {
  sys = await startBookingUnderTest();
  schedule = await createSchedule(sys.catalog.client, 30);
  alice = await createPatient(sys.client, { displayName: 'Alice' });
  bob = await createPatient(sys.client, { displayName: 'Bob' });
});
afterAll(() => sys?.close());

const freshSlot = (): Slot => schedule.slots[used++];

describe('RescheduleAppointment', () => {
  it('books the new slot, cancels the old appointment as "rescheduled" and opens its slot', async () => {
    const [oldSlot, newSlot] = [freshSlot(), freshSlot()];
    const old = await book(sys, alice, oldSlot, 'back pain');
    const { appointment } = await sys.client.rescheduleAppointment({ id: old.id, newSlotId: newSlot.id, requestId: newRequestId() });

    expect(appointment).toMatchObject({
      slotId: newSlot.id,
      patientId: alice.id,
      doctorId: newSlot.doctorId,
      clinicId: newSlot.clinicId,
      startTime: newSlot.startTime,
      endTime: newSlot.endTime,
      status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED,
      reason: 'back pain',
      cancelReason: '',
      replacesAppointmentId: old.id,
    });
    expect(appointment!.id).not.toBe(old.id);
    const { appointment: oldNow } = await sys.client.getAppointment({ id: old.id });
    expect(oldNow).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_CANCELLED, cancelReason: 'rescheduled', slotId: oldSlot.id });

    expect(await storedSlot(sys.catalog, newSlot.id)).toEqual({ status: 'booked', claim_id: appointment!.id });
    expect(await storedSlot(sys.catalog, oldSlot.id)).toEqual({ status: 'open', claim_id: null });
    expect(await releasesOf(sys.sql, oldSlot.id)).toEqual([{ slot_id: oldSlot.id, claim_id: old.id, attempts: 1, done_time: expect.any(Date) }]);
    expect(await releasesOf(sys.sql, newSlot.id)).toEqual([]);
  });

  it('returns the same new appointment when the same request_id is retried, writing nothing', async () => {
    const [oldSlot, newSlot] = [freshSlot(), freshSlot()];
    const old = await book(sys, alice, oldSlot);
    const request = { id: old.id, newSlotId: newSlot.id, requestId: newRequestId() };
    const { appointment: first } = await sys.client.rescheduleAppointment(request);
    const before = await bookingSnapshot(sys.sql);

    const { appointment: again } = await sys.client.rescheduleAppointment(request);
    expect(again).toEqual(first);
    expect(await bookingSnapshot(sys.sql)).toEqual(before);
    expect(await storedSlot(sys.catalog, newSlot.id)).toEqual({ status: 'booked', claim_id: first!.id });
    expect(await storedSlot(sys.catalog, oldSlot.id)).toEqual({ status: 'open', claim_id: null });
  });

  it('answers parallel copies of one reschedule request with the same new appointment', async () => {
    const [oldSlot, newSlot] = [freshSlot(), freshSlot()];
    const old = await book(sys, alice, oldSlot);
    const request = { id: old.id, newSlotId: newSlot.id, requestId: newRequestId() };
    const answers = await Promise.all(Array.from({ length: 8 }, () => sys.client.rescheduleAppointment(request)));
    const id = answers[0].appointment!.id;
    for (const answer of answers) expect(answer.appointment).toMatchObject({ id, status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED });
    const { rows } = await sys.sql.query('SELECT id::text, status::text FROM appointment WHERE replaces_appointment_id = $1', [old.id]);
    expect(rows).toEqual([{ id, status: 'booked' }]);
    expect(await storedSlot(sys.catalog, newSlot.id)).toEqual({ status: 'booked', claim_id: id });
    expect(await storedSlot(sys.catalog, oldSlot.id)).toEqual({ status: 'open', claim_id: null });
  });

  it('can move the new appointment again', async () => {
    const [a, b, c] = [freshSlot(), freshSlot(), freshSlot()];
    const first = await book(sys, alice, a);
    const { appointment: second } = await sys.client.rescheduleAppointment({ id: first.id, newSlotId: b.id, requestId: newRequestId() });
    const { appointment: third } = await sys.client.rescheduleAppointment({ id: second!.id, newSlotId: c.id, requestId: newRequestId() });
    expect(third).toMatchObject({ slotId: c.id, replacesAppointmentId: second!.id, status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED });
    expect(await storedAppointment(sys.sql, second!.id)).toMatchObject({ status: 'cancelled', cancel_reason: 'rescheduled' });
    expect([await storedSlot(sys.catalog, a.id), await storedSlot(sys.catalog, b.id)]).toEqual([
      { status: 'open', claim_id: null },
      { status: 'open', claim_id: null },
    ]);
  });

  it('leaves the old appointment untouched when the new slot is taken (SLOT_UNAVAILABLE)', async () => {
    const [oldSlot, takenSlot, openSlot] = [freshSlot(), freshSlot(), freshSlot()];
    const old = await book(sys, alice, oldSlot);
    const holder = await book(sys, bob, takenSlot);
    const oldRow = await storedAppointment(sys.sql, old.id);
    const requestId = newRequestId();

    await expectGrpcError(sys.client.rescheduleAppointment({ id: old.id, newSlotId: takenSlot.id, requestId }), status.FAILED_PRECONDITION, {
      reason: 'SLOT_UNAVAILABLE',
    });
    expect(await storedAppointment(sys.sql, old.id)).toEqual(oldRow);
    expect(await storedSlot(sys.catalog, oldSlot.id)).toEqual({ status: 'booked', claim_id: old.id });
    expect(await storedSlot(sys.catalog, takenSlot.id)).toEqual({ status: 'booked', claim_id: holder.id });
    expect(await releasesOf(sys.sql, oldSlot.id)).toEqual([]);
    // The refused request is recorded as FAILED, so its retries get the same answer.
    const { rows } = await sys.sql.query('SELECT status::text, replaces_appointment_id::text FROM appointment WHERE request_id = $1', [requestId]);
    expect(rows).toEqual([{ status: 'failed', replaces_appointment_id: old.id }]);
    await expectRefused(sys, () => sys.client.rescheduleAppointment({ id: old.id, newSlotId: takenSlot.id, requestId }), status.FAILED_PRECONDITION, {
      reason: 'SLOT_UNAVAILABLE',
    });

    // The failed attempt does not block a later reschedule.
    const { appointment } = await sys.client.rescheduleAppointment({ id: old.id, newSlotId: openSlot.id, requestId: newRequestId() });
    expect(appointment).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED, replacesAppointmentId: old.id });
  });

  it('refuses the appointment\'s own slot as new_slot_id, writing nothing', async () => {
    const slot = freshSlot();
    const old = await book(sys, alice, slot);
    await expectRefused(sys, () => sys.client.rescheduleAppointment({ id: old.id, newSlotId: slot.id, requestId: newRequestId() }), status.INVALID_ARGUMENT, {
      reason: 'INVALID_ARGUMENT',
      field: 'new_slot_id',
    });
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: old.id });
  });

  it('answers NOT_FOUND for an unknown appointment or new slot, writing nothing', async () => {
    const slot = freshSlot();
    await expectRefused(sys, () => sys.client.rescheduleAppointment({ id: randomUUID(), newSlotId: slot.id, requestId: newRequestId() }), status.NOT_FOUND, {
      reason: 'APPOINTMENT_NOT_FOUND',
    });
    const old = await book(sys, alice, freshSlot());
    await expectRefused(sys, () => sys.client.rescheduleAppointment({ id: old.id, newSlotId: randomUUID(), requestId: newRequestId() }), status.NOT_FOUND, {
      reason: 'SLOT_NOT_FOUND',
    });
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
  });

  it('refuses a cancelled or past appointment, writing nothing', async () => {
    const [a, b, target] = [freshSlot(), freshSlot(), freshSlot()];
    const cancelled = await book(sys, alice, a);
    await sys.client.cancelAppointment({ id: cancelled.id, reason: '' });
    await expectRefused(sys, () => sys.client.rescheduleAppointment({ id: cancelled.id, newSlotId: target.id, requestId: newRequestId() }), status.FAILED_PRECONDITION, {
      reason: 'APPOINTMENT_NOT_BOOKED',
    });
    const past = await book(sys, alice, b);
    // Fixture: move the appointment's start into the past in the booking database.
    await sys.sql.query(`UPDATE appointment SET start_time = now() - interval '5 minutes' WHERE id = $1`, [past.id]);
    await expectRefused(sys, () => sys.client.rescheduleAppointment({ id: past.id, newSlotId: target.id, requestId: newRequestId() }), status.FAILED_PRECONDITION, {
      reason: 'APPOINTMENT_IN_PAST',
    });
    expect(await storedSlot(sys.catalog, target.id)).toEqual({ status: 'open', claim_id: null });
  });

  it('refuses a request_id already used for another request (REQUEST_ID_REUSED), writing nothing', async () => {
    const [oldSlot, newSlot, otherSlot] = [freshSlot(), freshSlot(), freshSlot()];
    const bookingRequestId = newRequestId();
    const { appointment: old } = await sys.client.bookAppointment({ slotId: oldSlot.id, patientId: alice.id, requestId: bookingRequestId, reason: '' });
    await expectRefused(sys, () => sys.client.rescheduleAppointment({ id: old!.id, newSlotId: newSlot.id, requestId: bookingRequestId }), status.FAILED_PRECONDITION, {
      reason: 'REQUEST_ID_REUSED',
    });

    const requestId = newRequestId();
    const { appointment: moved } = await sys.client.rescheduleAppointment({ id: old!.id, newSlotId: newSlot.id, requestId });
    await expectRefused(sys, () => sys.client.rescheduleAppointment({ id: old!.id, newSlotId: otherSlot.id, requestId }), status.FAILED_PRECONDITION, {
      reason: 'REQUEST_ID_REUSED',
    });
    // …nor may a booking reuse the reschedule's request_id for the same slot.
    await expectRefused(sys, () => sys.client.bookAppointment({ slotId: newSlot.id, patientId: alice.id, requestId, reason: '' }), status.FAILED_PRECONDITION, {
      reason: 'REQUEST_ID_REUSED',
    });
    expect(await storedSlot(sys.catalog, otherSlot.id)).toEqual({ status: 'open', claim_id: null });
    expect(await storedSlot(sys.catalog, newSlot.id)).toEqual({ status: 'booked', claim_id: moved!.id });
  });

  it('refuses a second reschedule while one is in flight (RESCHEDULE_IN_PROGRESS), writing nothing', async () => {
    const [oldSlot, pendingSlot, target] = [freshSlot(), freshSlot(), freshSlot()];
    const old = await book(sys, alice, oldSlot);
    // Fixture: a reschedule that recorded its intent and is still claiming.
    await insertAppointment(sys.sql, { patientId: alice.id, slot: pendingSlot, replacesAppointmentId: old.id });
    await expectRefused(sys, () => sys.client.rescheduleAppointment({ id: old.id, newSlotId: target.id, requestId: newRequestId() }), status.FAILED_PRECONDITION, {
      reason: 'RESCHEDULE_IN_PROGRESS',
    });
    expect(await storedSlot(sys.catalog, target.id)).toEqual({ status: 'open', claim_id: null });
  });

  it('gives the new slot back when the old appointment was cancelled while the reschedule was claiming', async () => {
    const [oldSlot, newSlot] = [freshSlot(), freshSlot()];
    const old = await book(sys, alice, oldSlot);
    const requestId = newRequestId();
    // Fixture: the reschedule recorded its intent and claimed the new slot; then the old appointment was cancelled.
    const replacement = await insertAppointment(sys.sql, { patientId: alice.id, slot: newSlot, requestId, replacesAppointmentId: old.id });
    await sys.catalog.client.claimSlot({ slotId: newSlot.id, claimId: replacement });
    await sys.client.cancelAppointment({ id: old.id, reason: 'no longer needed' });

    await expectGrpcError(sys.client.rescheduleAppointment({ id: old.id, newSlotId: newSlot.id, requestId }), status.FAILED_PRECONDITION, {
      reason: 'APPOINTMENT_NOT_BOOKED',
    });
    expect(await storedAppointment(sys.sql, replacement)).toMatchObject({ status: 'failed' });
    expect(await storedAppointment(sys.sql, old.id)).toMatchObject({ status: 'cancelled', cancel_reason: 'no longer needed' });
    expect(await storedSlot(sys.catalog, newSlot.id)).toEqual({ status: 'open', claim_id: null });
    expect(await storedSlot(sys.catalog, oldSlot.id)).toEqual({ status: 'open', claim_id: null });
    expect(await releasesOf(sys.sql, newSlot.id)).toEqual([{ slot_id: newSlot.id, claim_id: replacement, attempts: 1, done_time: expect.any(Date) }]);
  });
});
