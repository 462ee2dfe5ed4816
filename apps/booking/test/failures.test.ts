import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentStatus, ListAppointmentsRequest, type Patient } from '@carebook/proto/booking';
import { Slot } from '@carebook/proto/catalog';
import { freePort } from '@carebook/testing';
import { createPatient, createSchedule, expectRefused, expectRefusedLeavingIntent, insertAppointment, newRequestId, releasesOf } from './booking-fixtures';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

// Booking when catalog cannot be reached: calls that need catalog fail with
// UNAVAILABLE or DEADLINE_EXCEEDED and write nothing.

/** A fake slot, as catalog would describe it, for rows inserted without a catalog. */
const fakeSlot = (hoursAhead = 24): Slot => {
  const startTime = new Date(Date.now() + hoursAhead * 3_600_000);
  return Slot.fromPartial({ id: randomUUID(), doctorId: randomUUID(), clinicId: randomUUID(), startTime, endTime: new Date(+startTime + 1_200_000) });
};

describe('catalog unreachable (nothing listens on its port)', () => {
  let sys: BookingUnderTest;
  let patient: Patient;
  beforeAll(async () => {
    sys = await startBookingUnderTest({ catalogAddress: `127.0.0.1:${await freePort()}` });
    patient = await createPatient(sys.client);
  });
  afterAll(() => sys?.close());

  // The claim is booking's only catalog call, so its intent is written before
  // catalog is known unreachable; a claim that fails in transport may have
  // landed, so the intent stays PENDING (the reconciler settles it).
  it('fails BookAppointment with UNAVAILABLE, leaving only its PENDING intent; a retry gets the same answer and writes nothing more', async () => {
    const request = { slotId: randomUUID(), patientId: patient.id, requestId: newRequestId(), reason: '' };
    await expectRefusedLeavingIntent(sys, request.slotId, () => sys.client.bookAppointment(request), status.UNAVAILABLE, { reason: 'CATALOG_UNAVAILABLE' });
    await expectRefused(sys, () => sys.client.bookAppointment(request), status.UNAVAILABLE, { reason: 'CATALOG_UNAVAILABLE' });
  });

  it('answers a retry of a recorded request from its record, without catalog', async () => {
    const slot = fakeSlot();
    const requestId = newRequestId();
    const id = await insertAppointment(sys.sql, { patientId: patient.id, slot, status: 'booked', requestId });
    const { appointment } = await sys.client.bookAppointment({ slotId: slot.id, patientId: patient.id, requestId, reason: '' });
    expect(appointment).toMatchObject({ id, status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED });
  });

  it('fails RescheduleAppointment with UNAVAILABLE, leaving the appointment untouched and only the PENDING intent of its replacement', async () => {
    // Fixture: a booked appointment (catalog is not there to book it).
    const id = await insertAppointment(sys.sql, { patientId: patient.id, slot: fakeSlot(), status: 'booked' });
    const newSlotId = randomUUID();
    await expectRefusedLeavingIntent(sys, newSlotId, () => sys.client.rescheduleAppointment({ id, newSlotId, requestId: newRequestId() }), status.UNAVAILABLE, {
      reason: 'CATALOG_UNAVAILABLE',
    });
  });

  it('still answers the calls that do not need catalog', async () => {
    const id = await insertAppointment(sys.sql, { patientId: patient.id, slot: fakeSlot(), status: 'booked' });
    const { patient: fetched } = await sys.client.getPatient({ id: patient.id });
    expect(fetched).toEqual(patient);
    const { appointment } = await sys.client.getAppointment({ id });
    expect(appointment).toMatchObject({ id, status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED });
    const { appointments } = await sys.client.listAppointments(ListAppointmentsRequest.fromPartial({ patientId: patient.id }));
    expect(appointments).toContainEqual(appointment);
  });

  it('leaves PENDING appointments for later when catalog cannot be asked', async () => {
    const id = await insertAppointment(sys.sql, { patientId: patient.id, slot: fakeSlot(), ageMs: 60_000 });
    expect(await sys.service.reconciler.reconcileOnce()).toBe(0);
    const { rows } = await sys.sql.query('SELECT status::text FROM appointment WHERE id = $1', [id]);
    expect(rows).toEqual([{ status: 'pending' }]);
  });
});

describe('catalog too slow (accepts connections, never answers)', () => {
  let sys: BookingUnderTest;
  let blackHole: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    blackHole = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as { port: number };
    sys = await startBookingUnderTest({ catalogAddress: `127.0.0.1:${port}`, catalogTimeoutMs: 300 });
  });
  afterAll(async () => {
    await sys?.close();
    sockets.forEach((s) => s.destroy());
    await new Promise((resolve) => blackHole.close(resolve));
  });

  it('fails BookAppointment with DEADLINE_EXCEEDED within the catalog timeout, leaving only its PENDING intent', async () => {
    const patient = await createPatient(sys.client);
    const started = Date.now();
    const slotId = randomUUID();
    await expectRefusedLeavingIntent(
      sys,
      slotId,
      () => sys.client.bookAppointment({ slotId, patientId: patient.id, requestId: newRequestId(), reason: '' }),
      status.DEADLINE_EXCEEDED,
      { reason: 'CATALOG_TIMEOUT' },
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('reconciler', () => {
  let sys: BookingUnderTest;
  let patient: Patient;
  let slots: Slot[];
  let used = 0;
  const freshSlot = () => slots[used++];
  const overdue = 60_000; // well past TEST_BOOKING_OPTIONS.reconcileGraceMs
  const statusOf = async (id: string) => (await sys.sql.query('SELECT status::text FROM appointment WHERE id = $1', [id])).rows[0].status;
  const slotOf = async (id: string) => (await sys.catalog.client.getSlot({ id })).slot!;

  beforeAll(async () => {
    sys = await startBookingUnderTest();
    patient = await createPatient(sys.client);
    ({ slots } = await createSchedule(sys.catalog.client, 12));
  });
  afterAll(() => sys?.close());

  // Fixture for every test here: a PENDING row as a crash after recording the
  // intent leaves it, with create_time older than the grace period.

  it('settles an overdue PENDING appointment whose slot it holds as BOOKED', async () => {
    const slot = freshSlot();
    const id = await insertAppointment(sys.sql, { patientId: patient.id, slot, ageMs: overdue });
    await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: id });
    expect(await sys.service.reconciler.reconcileOnce()).toBe(1);
    expect(await statusOf(id)).toBe('booked');
    expect(await slotOf(slot.id)).toMatchObject({ claimId: id });
    expect(await releasesOf(sys.sql, slot.id)).toEqual([]);
  });

  it('settles an overdue PENDING appointment whose claim never arrived as FAILED, claiming nothing', async () => {
    const slot = freshSlot();
    const id = await insertAppointment(sys.sql, { patientId: patient.id, slot, ageMs: overdue });
    expect(await sys.service.reconciler.reconcileOnce()).toBe(1);
    expect(await statusOf(id)).toBe('failed');
    expect(await slotOf(slot.id)).toMatchObject({ claimId: '' });
    // A retry of its request now gets the same answer as the settled state.
    const { rows } = await sys.sql.query('SELECT request_id FROM appointment WHERE id = $1', [id]);
    await expectRefused(
      sys,
      () => sys.client.bookAppointment({ slotId: slot.id, patientId: patient.id, requestId: rows[0].request_id, reason: '' }),
      status.FAILED_PRECONDITION,
      { reason: 'SLOT_UNAVAILABLE' },
    );
  });

  it('settles an overdue PENDING appointment whose slot another claim holds as FAILED, leaving the slot alone', async () => {
    const slot = freshSlot();
    const id = await insertAppointment(sys.sql, { patientId: patient.id, slot, ageMs: overdue });
    const other = randomUUID();
    await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: other });
    expect(await sys.service.reconciler.reconcileOnce()).toBe(1);
    expect(await statusOf(id)).toBe('failed');
    expect(await slotOf(slot.id)).toMatchObject({ claimId: other });
    // It still owed a release in case its claim landed unseen; delivered,
    // catalog left the other claim alone.
    expect(await releasesOf(sys.sql, slot.id)).toEqual([expect.objectContaining({ claim_id: id, done_time: expect.any(Date) })]);
  });

  it('settles an overdue PENDING appointment whose slot catalog does not know as FAILED', async () => {
    const id = await insertAppointment(sys.sql, { patientId: patient.id, slot: fakeSlot(), ageMs: overdue });
    expect(await sys.service.reconciler.reconcileOnce()).toBe(1);
    expect(await statusOf(id)).toBe('failed');
  });

  it('finishes an interrupted reschedule whose new slot was claimed: new BOOKED, old CANCELLED and its slot released', async () => {
    const [oldSlot, newSlot] = [freshSlot(), freshSlot()];
    const { appointment: old } = await sys.client.bookAppointment({ slotId: oldSlot.id, patientId: patient.id, requestId: newRequestId(), reason: '' });
    const id = await insertAppointment(sys.sql, { patientId: patient.id, slot: newSlot, ageMs: overdue, replacesAppointmentId: old!.id });
    await sys.catalog.client.claimSlot({ slotId: newSlot.id, claimId: id });
    expect(await sys.service.reconciler.reconcileOnce()).toBe(1);
    expect(await statusOf(id)).toBe('booked');
    const { appointment: oldNow } = await sys.client.getAppointment({ id: old!.id });
    expect(oldNow).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_CANCELLED, cancelReason: 'rescheduled' });
    expect(await slotOf(oldSlot.id)).toMatchObject({ claimId: '' });
    expect(await slotOf(newSlot.id)).toMatchObject({ claimId: id });
  });

  it('fails an interrupted reschedule whose new slot was not claimed, leaving the old appointment booked', async () => {
    const [oldSlot, newSlot] = [freshSlot(), freshSlot()];
    const { appointment: old } = await sys.client.bookAppointment({ slotId: oldSlot.id, patientId: patient.id, requestId: newRequestId(), reason: '' });
    const id = await insertAppointment(sys.sql, { patientId: patient.id, slot: newSlot, ageMs: overdue, replacesAppointmentId: old!.id });
    expect(await sys.service.reconciler.reconcileOnce()).toBe(1);
    expect(await statusOf(id)).toBe('failed');
    expect((await sys.client.getAppointment({ id: old!.id })).appointment).toEqual(old);
    expect(await slotOf(oldSlot.id)).toMatchObject({ claimId: old!.id });
    expect(await slotOf(newSlot.id)).toMatchObject({ claimId: '' });
  });

  it('leaves a PENDING appointment younger than the grace period alone', async () => {
    const slot = freshSlot();
    const id = await insertAppointment(sys.sql, { patientId: patient.id, slot, ageMs: 0 });
    await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: id });
    const before = (await sys.sql.query('SELECT * FROM appointment WHERE id = $1', [id])).rows;
    expect(await sys.service.reconciler.reconcileOnce()).toBe(0);
    expect((await sys.sql.query('SELECT * FROM appointment WHERE id = $1', [id])).rows).toEqual(before);
    expect(await slotOf(slot.id)).toMatchObject({ claimId: id });
  });
});
