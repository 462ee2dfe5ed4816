import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { status } from '@grpc/grpc-js';
import { expect } from 'vitest';
import { Patient, type Appointment, type BookingClient } from '@carebook/proto/booking';
import { Modality, type CatalogClient, type Clinic, type Doctor, type Slot } from '@carebook/proto/catalog';
import { expectGrpcError, type ExpectedGrpcError } from '@carebook/testing';
import { consecutiveSlots, createClinic, createDoctor, hoursFromNow, tableSnapshot, type CatalogUnderTest } from '../../catalog/test/harness';
import type { BookingUnderTest } from './harness';

// Small fixtures shared by the booking integration tests.

/** Creates a patient through the API; `fields` override the defaults. */
export async function createPatient(client: BookingClient, fields: Partial<Patient> = {}): Promise<Patient> {
  const patient = Patient.fromPartial({
    displayName: 'Erika Mustermann',
    email: 'erika@example.org',
    phone: '+49 30 1234567',
    birthDate: { year: 1984, month: 8, day: 12 },
    ...fields,
  });
  const response = await client.createPatient({ patient });
  return response.patient!;
}

export interface Schedule {
  clinic: Clinic;
  doctor: Doctor;
  /** Open, back-to-back slots in start_time order. */
  slots: Slot[];
}

/** A clinic, a doctor and `count` consecutive open slots of 20 minutes, `hoursAhead` (rounded up to the hour) from now. */
export async function createSchedule(catalog: CatalogClient, count: number, hoursAhead = 24): Promise<Schedule> {
  const clinic = await createClinic(catalog);
  const doctor = await createDoctor(catalog, clinic.id);
  const { slots } = await catalog.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(hoursFromNow(hoursAhead), count) });
  return { clinic, doctor, slots };
}

/** A request id no other test uses. */
export const newRequestId = () => `req-${randomUUID()}`;

/** The slot's row in the catalog database. */
export async function storedSlot(catalog: CatalogUnderTest, slotId: string): Promise<{ status: string; claim_id: string | null }> {
  const { rows } = await catalog.sql.query('SELECT status::text, claim_id::text FROM slot WHERE id = $1', [slotId]);
  return rows[0];
}

/** The appointment's row in the booking database, with the columns the API does not show. */
export async function storedAppointment(sql: pg.Pool, id: string) {
  const { rows } = await sql.query(
    `SELECT id::text, status::text, slot_id::text, request_id, cancel_reason, replaces_appointment_id::text, start_time, update_time
       FROM appointment WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/** Every appointment row of the patient with this request id. */
export async function appointmentsOfRequest(sql: pg.Pool, patientId: string, requestId: string) {
  const { rows } = await sql.query('SELECT id::text, status::text, slot_id::text FROM appointment WHERE patient_id = $1 AND request_id = $2', [
    patientId,
    requestId,
  ]);
  return rows;
}

/** The outbox rows owed for (slot, claim). */
export async function releasesOf(sql: pg.Pool, slotId: string) {
  const { rows } = await sql.query('SELECT slot_id::text, claim_id::text, attempts, done_time FROM slot_release WHERE slot_id = $1', [slotId]);
  return rows;
}

/** Every row of the booking tables, to prove a refused call changed nothing (not even update_time). */
export async function bookingSnapshot(sql: pg.Pool): Promise<Record<'patient' | 'appointment' | 'slot_release' | 'appointment_event' | 'consultation', unknown[]>> {
  const read = async (table: string) => (await sql.query(`SELECT * FROM ${table} ORDER BY id`)).rows;
  return {
    patient: await read('patient'),
    appointment: await read('appointment'),
    slot_release: await read('slot_release'),
    // Without position, which the sequencer gives events already committed, in the background.
    appointment_event: (await sql.query('SELECT id, type, appointment_id, snapshot, event_time FROM appointment_event ORDER BY id')).rows,
    consultation: await read('consultation'),
  };
}

/**
 * Asserts `call` fails with `code` (and reason/field), and that neither the
 * booking nor the catalog database changed. Returns the error.
 */
export async function expectRefused(sys: BookingUnderTest, call: () => Promise<unknown>, code: status, expected: ExpectedGrpcError = {}) {
  const booking = await bookingSnapshot(sys.sql);
  const catalog = await tableSnapshot(sys.catalog.sql);
  const err = await expectGrpcError(call(), code, expected);
  expect(await bookingSnapshot(sys.sql), 'booking database changed').toEqual(booking);
  expect(await tableSnapshot(sys.catalog.sql), 'catalog database changed').toEqual(catalog);
  return err;
}

/**
 * Asserts `call` fails with `code` (and reason/field) while its claim's fate
 * is unknown (catalog unreachable or too slow), and that all it wrote is its
 * intent: one PENDING appointment of `slotId` without the slot's facts, which
 * a retry resumes and the reconciler settles once catalog answers. catalog
 * is unchanged. Returns the error and the intent's row.
 */
export async function expectRefusedLeavingIntent(sys: BookingUnderTest, slotId: string, call: () => Promise<unknown>, code: status, expected: ExpectedGrpcError = {}) {
  const before = await bookingSnapshot(sys.sql);
  const catalog = await tableSnapshot(sys.catalog.sql);
  const err = await expectGrpcError(call(), code, expected);
  const after = await bookingSnapshot(sys.sql);
  const known = new Set(before.appointment.map((row) => (row as { id: string }).id));
  const added = after.appointment.filter((row) => !known.has((row as { id: string }).id));
  const noFacts = { doctor_id: null, clinic_id: null, start_time: null, end_time: null, modality: null };
  expect(added, 'the intent, and nothing else').toEqual([expect.objectContaining({ status: 'pending', slot_id: slotId, ...noFacts })]);
  expect({ ...after, appointment: after.appointment.filter((row) => known.has((row as { id: string }).id)) }, 'booking database changed').toEqual(before);
  expect(await tableSnapshot(sys.catalog.sql), 'catalog database changed').toEqual(catalog);
  return { err, intent: added[0] as { id: string } };
}

/** Books `slot` for `patient` with a fresh request id and returns the appointment. */
export async function book(sys: BookingUnderTest, patient: Patient, slot: Slot, reason = ''): Promise<Appointment> {
  const { appointment } = await sys.client.bookAppointment({ slotId: slot.id, patientId: patient.id, requestId: newRequestId(), reason });
  return appointment!;
}

/**
 * Inserts an appointment row directly, as a crash after recording the intent
 * would leave it: status `status`, created `ageMs` ago. A fixture for the
 * reconciler's tests.
 */
export async function insertAppointment(
  sql: pg.Pool,
  fields: { patientId: string; slot: Slot; status?: string; ageMs?: number; requestId?: string; replacesAppointmentId?: string },
): Promise<string> {
  const { rows } = await sql.query(
    `INSERT INTO appointment (patient_id, request_id, slot_id, doctor_id, clinic_id, start_time, end_time, modality, status, replaces_appointment_id, create_time, update_time)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $11::modality, $8::appointment_status, $9, now() - make_interval(secs => $10::float8 / 1000), now() - make_interval(secs => $10::float8 / 1000))
     RETURNING id::text`,
    [
      fields.patientId,
      fields.requestId ?? newRequestId(),
      fields.slot.id,
      fields.slot.doctorId,
      fields.slot.clinicId,
      fields.slot.startTime,
      fields.slot.endTime,
      fields.status ?? 'pending',
      fields.replacesAppointmentId ?? null,
      fields.ageMs ?? 0,
      fields.slot.modality === Modality.MODALITY_VIDEO ? 'video' : 'in_person',
    ],
  );
  return rows[0].id;
}
