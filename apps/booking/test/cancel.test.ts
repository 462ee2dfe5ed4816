import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentStatus, Canceller, type Patient } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { expectGrpcError } from '@carebook/testing';
import { searchRequest, tableSnapshot } from '../../catalog/test/harness';
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
  schedule = await createSchedule(sys.catalog.client, 12);
  alice = await createPatient(sys.client, { displayName: 'Alice' });
  bob = await createPatient(sys.client, { displayName: 'Bob' });
});
afterAll(() => sys?.close());

const freshSlot = (): Slot => schedule.slots[used++];

/** The ids of the doctor's open slots SearchSlots finds around `slot`. */
async function openSlotIdsAround(slot: Slot): Promise<string[]> {
  const { slots } = await sys.catalog.client.searchSlots(
    searchRequest({ doctorId: schedule.doctor.id, startTimeFrom: new Date(+slot.startTime! - 1), startTimeTo: new Date(+slot.startTime! + 1) }),
  );
  return slots.map((s) => s.id);
}

describe('CancelAppointment', () => {
  it('cancels a booked appointment with the reason and opens its slot again', async () => {
    const slot = freshSlot();
    const booked = await book(sys, alice, slot);
    expect(await openSlotIdsAround(slot)).toEqual([]);

    const { appointment } = await sys.client.cancelAppointment({ id: booked.id, reason: '  feeling better ' });
    expect(appointment).toEqual({
      ...booked,
      status: AppointmentStatus.APPOINTMENT_STATUS_CANCELLED,
      cancelReason: 'feeling better',
      cancelledBy: Canceller.CANCELLER_PATIENT,
      updateTime: expect.any(Date),
    });
    expect(+appointment!.updateTime!).toBeGreaterThan(+booked.updateTime!);
    expect((await sys.client.getAppointment({ id: booked.id })).appointment).toEqual(appointment);

    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
    expect(await openSlotIdsAround(slot)).toEqual([slot.id]);
    // The release was owed in the outbox and delivered at once.
    expect(await releasesOf(sys.sql, slot.id)).toEqual([{ slot_id: slot.id, claim_id: booked.id, attempts: 1, done_time: expect.any(Date) }]);
  });

  it('accepts an empty reason', async () => {
    const booked = await book(sys, alice, freshSlot());
    const { appointment } = await sys.client.cancelAppointment({ id: booked.id, reason: '' });
    expect(appointment).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_CANCELLED, cancelReason: '' });
    expect(await storedAppointment(sys.sql, booked.id)).toMatchObject({ status: 'cancelled', cancel_reason: '' });
  });

  it('returns a cancelled appointment unchanged when cancelled again, writing nothing', async () => {
    const slot = freshSlot();
    const booked = await book(sys, alice, slot);
    const { appointment: first } = await sys.client.cancelAppointment({ id: booked.id, reason: 'first' });
    const before = await bookingSnapshot(sys.sql);
    const catalogBefore = await tableSnapshot(sys.catalog.sql);

    const { appointment: again } = await sys.client.cancelAppointment({ id: booked.id, reason: 'second' });
    expect(again).toEqual(first);
    expect(again?.cancelReason).toBe('first');
    expect(await bookingSnapshot(sys.sql)).toEqual(before);
    expect(await tableSnapshot(sys.catalog.sql)).toEqual(catalogBefore);
  });

  it('answers parallel cancellations alike, owing one release', async () => {
    const slot = freshSlot();
    const booked = await book(sys, alice, slot);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => sys.client.cancelAppointment({ id: booked.id, reason: `try ${i}` })));
    for (const answer of answers) expect(answer.appointment).toEqual(answers[0].appointment);
    expect(answers[0].appointment?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_CANCELLED);
    expect(await releasesOf(sys.sql, slot.id)).toEqual([{ slot_id: slot.id, claim_id: booked.id, attempts: 1, done_time: expect.any(Date) }]);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
  });

  it('lets another patient book the slot once it is cancelled', async () => {
    const slot = freshSlot();
    const first = await book(sys, alice, slot);
    await sys.client.cancelAppointment({ id: first.id, reason: 'travel' });
    const second = await book(sys, bob, slot);
    expect(second).toMatchObject({ patientId: bob.id, slotId: slot.id, status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED });
    expect(second.id).not.toBe(first.id);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: second.id });
    expect((await sys.client.getAppointment({ id: first.id })).appointment?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_CANCELLED);
  });

  it('answers a retried booking request with the cancelled appointment, without claiming the slot again', async () => {
    const slot = freshSlot();
    const request = { slotId: slot.id, patientId: alice.id, requestId: newRequestId(), reason: '' };
    const { appointment: booked } = await sys.client.bookAppointment(request);
    const { appointment: cancelled } = await sys.client.cancelAppointment({ id: booked!.id, reason: 'changed my mind' });
    const before = await bookingSnapshot(sys.sql);

    const { appointment: retried } = await sys.client.bookAppointment(request);
    expect(retried).toEqual(cancelled);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
    expect(await bookingSnapshot(sys.sql)).toEqual(before);
  });

  it('refuses an appointment that has already started with APPOINTMENT_IN_PAST, changing nothing', async () => {
    const slot = freshSlot();
    const booked = await book(sys, alice, slot);
    // Fixture: time cannot be moved forward, so move the appointment's start into the past in the booking database.
    await sys.sql.query(`UPDATE appointment SET start_time = now() - interval '10 minutes', end_time = now() + interval '10 minutes' WHERE id = $1`, [
      booked.id,
    ]);
    const err = await expectRefused(sys, () => sys.client.cancelAppointment({ id: booked.id, reason: 'late' }), status.FAILED_PRECONDITION, {
      reason: 'APPOINTMENT_IN_PAST',
    });
    expect(err.errorInfo?.metadata).toEqual({ appointment_id: booked.id });
    expect(await storedAppointment(sys.sql, booked.id)).toMatchObject({ status: 'booked', cancel_reason: null });
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: booked.id });
    expect(await releasesOf(sys.sql, slot.id)).toEqual([]);
  });

  it('refuses a FAILED appointment with APPOINTMENT_NOT_BOOKED, changing nothing', async () => {
    const slot = freshSlot();
    const holder = await book(sys, alice, slot);
    const requestId = newRequestId();
    await expectGrpcError(sys.client.bookAppointment({ slotId: slot.id, patientId: bob.id, requestId, reason: '' }), status.FAILED_PRECONDITION, {
      reason: 'SLOT_UNAVAILABLE',
    });
    const { rows } = await sys.sql.query('SELECT id::text FROM appointment WHERE patient_id = $1 AND request_id = $2', [bob.id, requestId]);
    const err = await expectRefused(sys, () => sys.client.cancelAppointment({ id: rows[0].id, reason: '' }), status.FAILED_PRECONDITION, {
      reason: 'APPOINTMENT_NOT_BOOKED',
    });
    expect(err.errorInfo?.metadata).toEqual({ appointment_id: rows[0].id, status: 'failed' });
    // Above all, the slot of the appointment that does hold it is not released.
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: holder.id });
    expect(await releasesOf(sys.sql, slot.id)).toEqual([]);
  });

  it('settles a PENDING appointment whose claim landed, then cancels it and opens the slot', async () => {
    const slot = freshSlot();
    // Fixture: a booking interrupted after its claim landed (the crash left it PENDING).
    const id = await insertAppointment(sys.sql, { patientId: alice.id, slot });
    await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: id });
    const { appointment } = await sys.client.cancelAppointment({ id, reason: 'changed my mind' });
    expect(appointment).toMatchObject({ id, status: AppointmentStatus.APPOINTMENT_STATUS_CANCELLED, cancelReason: 'changed my mind' });
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
  });

  it('settles a PENDING appointment whose slot another claim holds as FAILED, and refuses to cancel it', async () => {
    const slot = freshSlot();
    const id = await insertAppointment(sys.sql, { patientId: alice.id, slot });
    const other = randomUUID();
    await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: other });
    const err = await expectGrpcError(sys.client.cancelAppointment({ id, reason: '' }), status.FAILED_PRECONDITION, { reason: 'APPOINTMENT_NOT_BOOKED' });
    expect(err.errorInfo?.metadata).toMatchObject({ status: 'failed' });
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: other });
  });

  it('settles an overdue PENDING appointment by the slot state before cancelling it', async () => {
    const slot = freshSlot();
    const id = await insertAppointment(sys.sql, { patientId: alice.id, slot, ageMs: 60_000 });
    await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: id });
    const { appointment } = await sys.client.cancelAppointment({ id, reason: '' });
    expect(appointment?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_CANCELLED);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
  });

  it('answers NOT_FOUND for an unknown appointment', async () => {
    const id = randomUUID();
    const err = await expectRefused(sys, () => sys.client.cancelAppointment({ id, reason: '' }), status.NOT_FOUND, {
      reason: 'APPOINTMENT_NOT_FOUND',
    });
    expect(err.errorInfo?.metadata).toEqual({ appointment_id: id });
  });
});
