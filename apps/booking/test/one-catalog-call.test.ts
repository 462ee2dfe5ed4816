import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentStatus, ListAppointmentsRequest, type Patient } from '@carebook/proto/booking';
import { Modality, type Slot } from '@carebook/proto/catalog';
import { expectGrpcError, metricValue, scrapeMetrics, type MetricSample } from '@carebook/testing';
import { createPatient, createSchedule, expectRefused, newRequestId, releasesOf, storedSlot } from './booking-fixtures';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

// One catalog call per booking (docs/booking-protocol.md §2): the PENDING
// appointment is written with its slot's id only, ClaimSlot decides and
// answers with the slot, and the settle fills in the slot's facts. catalog's
// claim refuses an unknown slot or one that has started, and then nothing
// stays written.

let sys: BookingUnderTest;
let patient: Patient;
let slots: Slot[];
let next = 0;

beforeAll(async () => {
  sys = await startBookingUnderTest();
  patient = await createPatient(sys.client);
  slots = (await createSchedule(sys.catalog.client, 12)).slots;
});

afterAll(() => sys?.close());

const CATALOG = 'carebook.catalog.v1.CatalogService';
const catalogCalls = async () => metricValue(await scrapeMetrics(sys.catalog.metricsPort!), 'grpc_server_started_total', { grpc_service: CATALOG });
const callsOf = (samples: MetricSample[], method: string) =>
  metricValue(samples, 'grpc_server_started_total', { grpc_service: CATALOG, grpc_method: method });

/** The appointment's row as stored, with the slot's facts. */
async function stored(id: string) {
  const { rows } = await sys.sql.query(
    `SELECT status::text, doctor_id::text, clinic_id::text, start_time, end_time, modality::text FROM appointment WHERE id = $1`,
    [id],
  );
  return rows[0];
}

const factsOf = (slot: Slot) => ({
  doctor_id: slot.doctorId,
  clinic_id: slot.clinicId,
  start_time: slot.startTime,
  end_time: slot.endTime,
  modality: slot.modality === Modality.MODALITY_VIDEO ? 'video' : 'in_person',
});
const NO_FACTS = { doctor_id: null, clinic_id: null, start_time: null, end_time: null, modality: null };

/** A PENDING appointment as the booking path writes it, without the slot's facts, created `ageMs` ago. */
async function insertIntent(slotId: string, ageMs: number): Promise<string> {
  const { rows } = await sys.sql.query(
    `INSERT INTO appointment (patient_id, request_id, slot_id, status, create_time, update_time)
     VALUES ($1, $2, $3, 'pending', now() - make_interval(secs => $4::float8 / 1000), now() - make_interval(secs => $4::float8 / 1000))
     RETURNING id::text`,
    [patient.id, newRequestId(), slotId, ageMs],
  );
  return rows[0].id;
}

describe('a booking', () => {
  it('makes exactly one catalog call, ClaimSlot, and copies the slot it answered with', async () => {
    const slot = slots[next++];
    const before = await scrapeMetrics(sys.catalog.metricsPort!);
    const { appointment } = await sys.client.bookAppointment({ slotId: slot.id, patientId: patient.id, requestId: newRequestId(), reason: '' });
    const after = await scrapeMetrics(sys.catalog.metricsPort!);
    expect(metricValue(after, 'grpc_server_started_total', { grpc_service: CATALOG }) - metricValue(before, 'grpc_server_started_total', { grpc_service: CATALOG })).toBe(1);
    expect(callsOf(after, 'ClaimSlot') - callsOf(before, 'ClaimSlot')).toBe(1);
    expect(appointment).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED, doctorId: slot.doctorId, startTime: slot.startTime, endTime: slot.endTime });
    expect(await stored(appointment!.id)).toEqual({ status: 'booked', ...factsOf(slot) });
  });

  it('holds with one catalog call too, the HELD appointment carrying the slot', async () => {
    const slot = slots[next++];
    const before = await catalogCalls();
    const { appointment } = await sys.client.holdAppointment({ slotId: slot.id, patientId: patient.id, requestId: newRequestId(), reason: '' });
    expect((await catalogCalls()) - before).toBe(1);
    expect(await stored(appointment!.id)).toEqual({ status: 'held', ...factsOf(slot) });
  });

  it('of a taken slot costs one catalog call, and its FAILED record has no slot facts', async () => {
    const slot = slots[next++];
    await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: randomUUID() });
    const requestId = newRequestId();
    const before = await catalogCalls();
    await expectGrpcError(sys.client.bookAppointment({ slotId: slot.id, patientId: patient.id, requestId, reason: '' }), status.FAILED_PRECONDITION, {
      reason: 'SLOT_UNAVAILABLE',
    });
    expect((await catalogCalls()) - before).toBe(1);
    const { rows } = await sys.sql.query(`SELECT id::text FROM appointment WHERE request_id = $1`, [requestId]);
    expect(await stored(rows[0].id)).toEqual({ status: 'failed', ...NO_FACTS });
  });

  it('of an unknown slot is NOT_FOUND, and nothing is written', async () => {
    const before = await catalogCalls();
    await expectRefused(sys, () => sys.client.bookAppointment({ slotId: randomUUID(), patientId: patient.id, requestId: newRequestId(), reason: '' }), status.NOT_FOUND);
    expect((await catalogCalls()) - before).toBe(1);
  });

  it('of a slot that has started is SLOT_IN_PAST (by catalog’s clock), and nothing is written; its retry answers the same', async () => {
    const slot = slots[next++];
    await sys.catalog.sql.query(`UPDATE slot SET start_time = now() - interval '1 minute', end_time = now() + interval '19 minutes' WHERE id = $1`, [slot.id]);
    const request = { slotId: slot.id, patientId: patient.id, requestId: newRequestId(), reason: '' };
    await expectRefused(sys, () => sys.client.bookAppointment(request), status.FAILED_PRECONDITION, { reason: 'SLOT_IN_PAST' });
    await expectRefused(sys, () => sys.client.holdAppointment(request), status.FAILED_PRECONDITION, { reason: 'SLOT_IN_PAST' });
  });
});

describe('an intent without the slot’s facts', () => {
  it('is settled by the reconciler once overdue: BOOKED with the facts of the slot its claim holds', async () => {
    const slot = slots[next++];
    const id = await insertIntent(slot.id, 60_000);
    await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: id });
    expect(await sys.service.reconciler.reconcileOnce()).toBe(1);
    expect(await stored(id)).toEqual({ status: 'booked', ...factsOf(slot) });
  });

  it('is settled FAILED, still without facts and owing a release, when its claim never landed', async () => {
    const slot = slots[next++];
    const id = await insertIntent(slot.id, 60_000);
    expect(await sys.service.reconciler.reconcileOnce()).toBe(1);
    expect(await stored(id)).toEqual({ status: 'failed', ...NO_FACTS });
    expect(await releasesOf(sys.sql, slot.id)).toHaveLength(1);
    expect((await storedSlot(sys.catalog, slot.id)).status).toBe('open');
  });

  it('never shows in ListAppointments, and GetAppointment shows it without times', async () => {
    const booked = slots[next++];
    const { appointment } = await sys.client.bookAppointment({ slotId: booked.id, patientId: patient.id, requestId: newRequestId(), reason: '' });
    const pending = await insertIntent(slots[next++].id, 0);
    const { appointments } = await sys.client.listAppointments(ListAppointmentsRequest.fromPartial({ patientId: patient.id, pageSize: 100 }));
    const ids = appointments.map((a) => a.id);
    expect(ids).toContain(appointment!.id);
    expect(ids).not.toContain(pending);
    for (const a of appointments) expect(a.startTime).toBeDefined();
    const { appointment: shown } = await sys.client.getAppointment({ id: pending });
    expect(shown).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_PENDING, doctorId: '', startTime: undefined, modality: Modality.MODALITY_UNSPECIFIED });
  });

  it('cannot be BOOKED without its facts: appointment_slot_facts_check', async () => {
    const id = await insertIntent(slots[next++].id, 0);
    await expect(sys.sql.query(`UPDATE appointment SET status = 'booked' WHERE id = $1`, [id])).rejects.toThrow(/appointment_slot_facts_check/);
  });
});
