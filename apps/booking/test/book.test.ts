import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentStatus, type Patient } from '@carebook/proto/booking';
import { Modality, SlotStatus, type Slot } from '@carebook/proto/catalog';
import { isServiceError } from '@carebook/server';
import { expectGrpcError, pollUntil } from '@carebook/testing';
import { tableSnapshot } from '../../catalog/test/harness';
import {
  appointmentsOfRequest,
  book,
  createPatient,
  createSchedule,
  expectRefused,
  insertAppointment,
  newRequestId,
  releasesOf,
  storedSlot,
  type Schedule,
} from './booking-fixtures';
import { startBookingUnderTest, TEST_BOOKING_OPTIONS, type BookingUnderTest } from './harness';

let sys: BookingUnderTest;
let schedule: Schedule;
let alice: Patient;
let bob: Patient;
let used = 0;

beforeAll(async () => {
  sys = await startBookingUnderTest();
  schedule = await createSchedule(sys.catalog.client, 30);
  alice = await createPatient(sys.client, { displayName: 'Alice' });
  bob = await createPatient(sys.client, { displayName: 'Bob', email: 'bob@example.org' });
});
afterAll(() => sys?.close());

/** An open slot no other test touches. */
const freshSlot = (): Slot => schedule.slots[used++];

describe('BookAppointment', () => {
  it('books an open slot: the appointment copies the slot, and catalog holds it for the appointment id', async () => {
    const slot = freshSlot();
    const requestId = newRequestId();
    const { appointment } = await sys.client.bookAppointment({ slotId: slot.id, patientId: alice.id, requestId, reason: '  check-up  ' });
    expect(appointment).toMatchObject({
      slotId: slot.id,
      patientId: alice.id,
      doctorId: schedule.doctor.id,
      clinicId: schedule.clinic.id,
      startTime: slot.startTime,
      endTime: slot.endTime,
      status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED,
      reason: 'check-up',
      cancelReason: '',
      replacesAppointmentId: '',
      modality: Modality.MODALITY_IN_PERSON,
    });
    expect(appointment!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: appointment!.id });
    expect(await appointmentsOfRequest(sys.sql, alice.id, requestId)).toEqual([{ id: appointment!.id, status: 'booked', slot_id: slot.id }]);
    expect(await releasesOf(sys.sql, slot.id)).toEqual([]);

    const { appointment: fetched } = await sys.client.getAppointment({ id: appointment!.id });
    expect(fetched).toEqual(appointment);
    const { slot: inCatalog } = await sys.catalog.client.getSlot({ id: slot.id });
    expect(inCatalog).toMatchObject({ status: SlotStatus.SLOT_STATUS_BOOKED, claimId: appointment!.id });
  });

  it("copies a video slot's modality, into the FAILED record of a refused request too", async () => {
    const { slots } = await sys.catalog.client.createSlots({
      doctorId: schedule.doctor.id,
      slots: [{ startTime: new Date(+schedule.slots.at(-1)!.endTime! + 3_600_000), endTime: new Date(+schedule.slots.at(-1)!.endTime! + 4_800_000) }],
      modality: Modality.MODALITY_VIDEO,
    });
    const booked = await book(sys, alice, slots[0]);
    expect(booked).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED, modality: Modality.MODALITY_VIDEO });
    await expectGrpcError(book(sys, bob, slots[0]), status.FAILED_PRECONDITION, { reason: 'SLOT_UNAVAILABLE' });
    const { rows } = await sys.sql.query('SELECT status::text, modality::text FROM appointment WHERE slot_id = $1 ORDER BY create_time', [slots[0].id]);
    expect(rows).toEqual([
      { status: 'booked', modality: 'video' },
      { status: 'failed', modality: 'video' },
    ]);
  });

  it('refuses a slot already taken with SLOT_UNAVAILABLE, recording a FAILED appointment for the request', async () => {
    const slot = freshSlot();
    const first = await book(sys, alice, slot);
    const requestId = newRequestId();
    const catalogBefore = await tableSnapshot(sys.catalog.sql);

    const err = await expectGrpcError(
      sys.client.bookAppointment({ slotId: slot.id, patientId: bob.id, requestId, reason: '' }),
      status.FAILED_PRECONDITION,
      { reason: 'SLOT_UNAVAILABLE' },
    );
    const failed = await appointmentsOfRequest(sys.sql, bob.id, requestId);
    expect(failed).toEqual([{ id: expect.any(String), status: 'failed', slot_id: slot.id }]);
    expect(err.errorInfo?.metadata).toEqual({ slot_id: slot.id, appointment_id: failed[0].id });
    expect(await tableSnapshot(sys.catalog.sql)).toEqual(catalogBefore);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: first.id });
    expect(await releasesOf(sys.sql, slot.id)).toEqual([]);

    // A retry of the refused request gets the same answer, and records nothing more.
    await expectRefused(
      sys,
      () => sys.client.bookAppointment({ slotId: slot.id, patientId: bob.id, requestId, reason: '' }),
      status.FAILED_PRECONDITION,
      { reason: 'SLOT_UNAVAILABLE' },
    );
    const { appointment } = await sys.client.getAppointment({ id: failed[0].id });
    expect(appointment?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_FAILED);
  });

  it('answers NOT_FOUND for an unknown patient, writing nothing and claiming nothing', async () => {
    const slot = freshSlot();
    await expectRefused(
      sys,
      () => sys.client.bookAppointment({ slotId: slot.id, patientId: randomUUID(), requestId: newRequestId(), reason: '' }),
      status.NOT_FOUND,
      { reason: 'PATIENT_NOT_FOUND' },
    );
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
  });

  it('answers NOT_FOUND for an unknown slot, writing nothing', async () => {
    const slotId = randomUUID();
    const err = await expectRefused(
      sys,
      () => sys.client.bookAppointment({ slotId, patientId: alice.id, requestId: newRequestId(), reason: '' }),
      status.NOT_FOUND,
      { reason: 'SLOT_NOT_FOUND' },
    );
    expect(err.errorInfo?.metadata).toEqual({ slot_id: slotId });
  });

  it('refuses a slot that has already started with SLOT_IN_PAST, writing nothing', async () => {
    const slot = freshSlot();
    // Fixture: catalog refuses to publish past slots, so move this one into the past in its database.
    await sys.catalog.sql.query(`UPDATE slot SET start_time = now() - interval '1 hour', end_time = now() - interval '40 minutes' WHERE id = $1`, [slot.id]);
    await expectRefused(
      sys,
      () => sys.client.bookAppointment({ slotId: slot.id, patientId: alice.id, requestId: newRequestId(), reason: '' }),
      status.FAILED_PRECONDITION,
      { reason: 'SLOT_IN_PAST' },
    );
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
  });
});

describe('BookAppointment rush on one slot', () => {
  it('books it once; the others get SLOT_UNAVAILABLE, each with a FAILED record', async () => {
    const slot = freshSlot();
    const patients = await Promise.all(Array.from({ length: 12 }, (_, i) => createPatient(sys.client, { displayName: `Rush ${i}` })));
    const outcomes = await Promise.all(
      patients.map((p) =>
        sys.client.bookAppointment({ slotId: slot.id, patientId: p.id, requestId: newRequestId(), reason: '' }).then(
          ({ appointment }) => appointment!.status,
          (err: unknown) => (isServiceError(err) ? err.code : err),
        ),
      ),
    );
    expect(outcomes.filter((o) => o === AppointmentStatus.APPOINTMENT_STATUS_BOOKED)).toHaveLength(1);
    expect(outcomes.filter((o) => o === status.FAILED_PRECONDITION)).toHaveLength(11);
    const { rows } = await sys.sql.query<{ status: string; n: number }>(
      'SELECT status::text, count(*)::int AS n FROM appointment WHERE slot_id = $1 GROUP BY status ORDER BY status',
      [slot.id],
    );
    expect(rows).toEqual([
      { status: 'booked', n: 1 },
      { status: 'failed', n: 11 },
    ]);
    const winner = await sys.sql.query<{ id: string }>(`SELECT id::text FROM appointment WHERE slot_id = $1 AND status = 'booked'`, [slot.id]);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: winner.rows[0].id });
  });

  it('books a slot freed elsewhere once the memory of it lapses, however often it is asked for meanwhile', async () => {
    const slot = freshSlot();
    const taken = (await sys.client.bookAppointment({ slotId: slot.id, patientId: alice.id, requestId: newRequestId(), reason: '' })).appointment!;
    // Fixture: cancelled and released as through another booking replica, which this one's memory does not hear of.
    await sys.sql.query(`UPDATE appointment SET status = 'cancelled', cancel_reason = 'elsewhere' WHERE id = $1`, [taken.id]);
    await sys.catalog.sql.query(`UPDATE slot SET status = 'open', claim_id = NULL WHERE id = $1 AND claim_id = $2`, [slot.id, taken.id]);
    // Asked for every 100 ms: the refusals answered from memory must not
    // renew it, or the slot would stay refused for as long as it is wanted.
    const booked = await pollUntil(
      'the freed slot to be booked',
      () =>
        sys.client.bookAppointment({ slotId: slot.id, patientId: bob.id, requestId: newRequestId(), reason: '' }).then(
          ({ appointment }) => appointment,
          () => undefined,
        ),
      10 * TEST_BOOKING_OPTIONS.takenSlotMemoryMs,
      100,
    );
    expect(booked).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED, patientId: bob.id });
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: booked.id });
  });
});

describe('BookAppointment retries', () => {
  it('returns the same appointment for the same request_id, without a second row or claim', async () => {
    const slot = freshSlot();
    const requestId = newRequestId();
    const request = { slotId: slot.id, patientId: alice.id, requestId, reason: 'follow-up' };
    const { appointment: first } = await sys.client.bookAppointment(request);
    const catalogBefore = await tableSnapshot(sys.catalog.sql);
    const { appointment: again } = await sys.client.bookAppointment(request);
    // Upper-case ids name the same slot and patient.
    const { appointment: upper } = await sys.client.bookAppointment({ ...request, slotId: slot.id.toUpperCase(), patientId: alice.id.toUpperCase() });
    expect(again).toEqual(first);
    expect(upper).toEqual(first);
    expect(await appointmentsOfRequest(sys.sql, alice.id, requestId)).toHaveLength(1);
    expect(await tableSnapshot(sys.catalog.sql)).toEqual(catalogBefore);
  });

  it('answers a retry with its appointment after the slot has started', async () => {
    const slot = freshSlot();
    const request = { slotId: slot.id, patientId: alice.id, requestId: newRequestId(), reason: '' };
    const { appointment: first } = await sys.client.bookAppointment(request);
    // Fixture: into the past in catalog's database (clear of the SLOT_IN_PAST test's slot of the same doctor).
    await sys.catalog.sql.query(`UPDATE slot SET start_time = now() - interval '3 hours', end_time = now() - interval '160 minutes' WHERE id = $1`, [slot.id]);
    const { appointment: again } = await sys.client.bookAppointment(request);
    expect(again).toEqual(first);
  });

  it('answers parallel copies of one request with the same appointment', async () => {
    const slot = freshSlot();
    const request = { slotId: slot.id, patientId: alice.id, requestId: newRequestId(), reason: '' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => sys.client.bookAppointment(request)));
    const [first] = answers;
    expect(first.appointment?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);
    for (const answer of answers) expect(answer.appointment?.id).toBe(first.appointment!.id);
    expect(await appointmentsOfRequest(sys.sql, alice.id, request.requestId)).toEqual([{ id: first.appointment!.id, status: 'booked', slot_id: slot.id }]);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: first.appointment!.id });
  });

  it('refuses the same request_id for another slot with REQUEST_ID_REUSED, writing nothing', async () => {
    const [slot, other] = [freshSlot(), freshSlot()];
    const requestId = newRequestId();
    const first = (await sys.client.bookAppointment({ slotId: slot.id, patientId: alice.id, requestId, reason: '' })).appointment!;
    const err = await expectRefused(
      sys,
      () => sys.client.bookAppointment({ slotId: other.id, patientId: alice.id, requestId, reason: '' }),
      status.FAILED_PRECONDITION,
      { reason: 'REQUEST_ID_REUSED' },
    );
    expect(err.errorInfo?.metadata).toEqual({ appointment_id: first.id });
    expect(await storedSlot(sys.catalog, other.id)).toEqual({ status: 'open', claim_id: null });
  });

  it('scopes request_id to the patient: another patient may use the same one', async () => {
    const [slot, other] = [freshSlot(), freshSlot()];
    const requestId = newRequestId();
    const a = (await sys.client.bookAppointment({ slotId: slot.id, patientId: alice.id, requestId, reason: '' })).appointment!;
    const b = (await sys.client.bookAppointment({ slotId: other.id, patientId: bob.id, requestId, reason: '' })).appointment!;
    expect(b.id).not.toBe(a.id);
    expect(b.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);
  });

  // The first call's deadline is so short that it usually expires on the way
  // (before or after the server recorded the intent); now and then it
  // succeeds. Either way the retry must end in one BOOKED appointment.
  it.each([1, 5, 30, 60, 120, 250])('settles a retry after a %i ms deadline expired into one booked appointment', async (deadlineMs) => {
    const slot = freshSlot();
    const request = { slotId: slot.id, patientId: alice.id, requestId: newRequestId(), reason: '' };
    const first = await sys.client.bookAppointment(request, { deadline: new Date(Date.now() + deadlineMs) }).then(
      ({ appointment }) => appointment!,
      (err: unknown) => {
        if (!isServiceError(err) || err.code !== status.DEADLINE_EXCEEDED) throw err;
        return undefined;
      },
    );
    if (first) expect(first.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);

    const { appointment } = await sys.client.bookAppointment(request);
    expect(appointment?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);
    if (first) expect(appointment!.id).toBe(first.id);

    // The first call may still be finishing in the server; wait until its request has settled.
    const rows = await pollUntil('the request to settle', async () => {
      const found = await appointmentsOfRequest(sys.sql, alice.id, request.requestId);
      return found.every((r) => r.status !== 'pending') ? found : undefined;
    });
    expect(rows).toEqual([{ id: appointment!.id, status: 'booked', slot_id: slot.id }]);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: appointment!.id });
    expect(await releasesOf(sys.sql, slot.id)).toEqual([]);
  });

  it('finishes a request left PENDING by claiming again with the same claim id', async () => {
    const slot = freshSlot();
    const requestId = newRequestId();
    // Fixture: the intent was recorded, then the process died before the claim.
    const id = await insertAppointment(sys.sql, { patientId: alice.id, slot, requestId });
    const { appointment } = await sys.client.bookAppointment({ slotId: slot.id, patientId: alice.id, requestId, reason: '' });
    expect(appointment).toMatchObject({ id, status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED });
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: id });
  });

  it('finishes a request left PENDING whose claim already went through', async () => {
    const slot = freshSlot();
    const requestId = newRequestId();
    // Fixture: the claim reached catalog, then the process died before recording BOOKED.
    const id = await insertAppointment(sys.sql, { patientId: alice.id, slot, requestId });
    await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: id });
    const { appointment } = await sys.client.bookAppointment({ slotId: slot.id, patientId: alice.id, requestId, reason: '' });
    expect(appointment).toMatchObject({ id, status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED });
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: id });
  });

  it('fails a request left PENDING whose slot someone else took meanwhile', async () => {
    const slot = freshSlot();
    const requestId = newRequestId();
    const id = await insertAppointment(sys.sql, { patientId: alice.id, slot, requestId });
    const other = randomUUID();
    await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: other });
    await expectGrpcError(
      sys.client.bookAppointment({ slotId: slot.id, patientId: alice.id, requestId, reason: '' }),
      status.FAILED_PRECONDITION,
      { reason: 'SLOT_UNAVAILABLE' },
    );
    expect(await appointmentsOfRequest(sys.sql, alice.id, requestId)).toEqual([{ id, status: 'failed', slot_id: slot.id }]);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: other });
    expect(await releasesOf(sys.sql, slot.id)).toEqual([]);
  });
});

describe('GetAppointment', () => {
  it('answers NOT_FOUND for an unknown id', async () => {
    await expectRefused(sys, () => sys.client.getAppointment({ id: randomUUID() }), status.NOT_FOUND, { reason: 'APPOINTMENT_NOT_FOUND' });
  });
});

describe('BatchGetAppointments', () => {
  it('returns the appointments in the order asked, each as GetAppointment shows it', async () => {
    const booked = await Promise.all([alice, bob].map((patient) => sys.client.bookAppointment({ slotId: freshSlot().id, patientId: patient.id, requestId: randomUUID(), reason: '' })));
    const ids = booked.map((b) => b.appointment!.id).reverse();
    const { appointments } = await sys.client.batchGetAppointments({ ids });
    expect(appointments.map((a) => a.id)).toEqual(ids);
    for (const appointment of appointments) expect(appointment).toEqual((await sys.client.getAppointment({ id: appointment.id })).appointment);
  });

  it('answers NOT_FOUND naming the first unknown id', async () => {
    const unknown = randomUUID();
    const err = await expectRefused(sys, () => sys.client.batchGetAppointments({ ids: [unknown, randomUUID()] }), status.NOT_FOUND, { reason: 'APPOINTMENT_NOT_FOUND' });
    expect(err.errorInfo?.metadata).toEqual({ appointment_id: unknown });
  });

  it('refuses more than 100 ids, naming the field', async () => {
    const ids = Array.from({ length: 101 }, () => randomUUID());
    await expectRefused(sys, () => sys.client.batchGetAppointments({ ids }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field: 'ids' });
  });
});
