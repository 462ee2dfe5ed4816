import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppointmentStatus,
  BookAppointmentRequest,
  HoldAppointmentRequest,
  ListAppointmentsRequest,
  RescheduleAppointmentRequest,
  type Appointment,
  type Patient,
} from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { book, createPatient, createSchedule, expectRefused, newRequestId, storedSlot } from './booking-fixtures';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

// Malformed requests to every appointment RPC: INVALID_ARGUMENT naming the
// field, and neither database changes (expectRefused compares every row of
// both before and after). Patients' RPCs are covered in patients.test.ts.

let sys: BookingUnderTest;
let patient: Patient;
let slots: Slot[];
let booked: Appointment;

beforeAll(async () => {
  sys = await startBookingUnderTest();
  patient = await createPatient(sys.client);
  ({ slots } = await createSchedule(sys.catalog.client, 6));
  booked = await book(sys, patient, slots[0]);
});
afterAll(() => sys?.close());

const invalid = (call: () => Promise<unknown>, field: string) =>
  expectRefused(sys, call, status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field });

const tooLong = (n: number) => 'x'.repeat(n);

describe('BookAppointment', () => {
  const valid = () => BookAppointmentRequest.fromPartial({ slotId: slots[1].id, patientId: patient.id, requestId: newRequestId(), reason: 'check-up' });

  it.each([
    ['slot_id', { slotId: '' }],
    ['slot_id', { slotId: 'slot-1' }],
    ['slot_id', { slotId: `${randomUUID()}0` }],
    ['patient_id', { patientId: '' }],
    ['patient_id', { patientId: 'patient-1' }],
    ['request_id', { requestId: '' }],
    ['request_id', { requestId: '   ' }],
    ['request_id', { requestId: tooLong(129) }],
    ['reason', { reason: tooLong(501) }],
    ['reason', { reason: 'check\u0000up' }],
    ['reason', { reason: 'check\u001bup' }],
    ['request_id', { requestId: 'req\u0000-1' }],
    ['request_id', { requestId: 'req\n1' }],
  ])('refuses a bad %s (%j)', async (field, override) => {
    await invalid(() => sys.client.bookAppointment({ ...valid(), ...override }), field);
    expect(await storedSlot(sys.catalog, slots[1].id)).toEqual({ status: 'open', claim_id: null });
  });

  it('names every bad field at once', async () => {
    const err = await invalid(() => sys.client.bookAppointment({ slotId: 'x', patientId: '', requestId: '', reason: tooLong(501) }), 'slot_id');
    expect(err.badRequest?.fieldViolations.map((v) => v.field)).toEqual(['slot_id', 'patient_id', 'request_id', 'reason']);
  });

  it('accepts a request_id of 128 and a reason of 500 characters', async () => {
    const { appointment } = await sys.client.bookAppointment({ ...valid(), slotId: slots[3].id, requestId: tooLong(128), reason: tooLong(500) });
    expect(appointment).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED, reason: tooLong(500) });
  });
});

describe('BookAppointment retried with the same request_id', () => {
  it('refuses another reason as REQUEST_ID_REUSED instead of answering with the first booking', async () => {
    const requestId = newRequestId();
    const first = await sys.client.bookAppointment({ slotId: slots[4].id, patientId: patient.id, requestId, reason: 'check-up' });
    const err = await expectRefused(sys, () => sys.client.bookAppointment({ slotId: slots[4].id, patientId: patient.id, requestId, reason: 'something else' }), status.FAILED_PRECONDITION, {
      reason: 'REQUEST_ID_REUSED',
    });
    expect(err.errorInfo?.metadata).toEqual({ appointment_id: first.appointment!.id });
  });

  it('keeps line breaks and tabs in a reason, which documents them', async () => {
    const { appointment } = await sys.client.bookAppointment({ slotId: slots[5].id, patientId: patient.id, requestId: newRequestId(), reason: 'knee\n\tleft' });
    expect(appointment?.reason).toBe('knee\n\tleft');
  });
});

describe('GetAppointment', () => {
  it.each(['', 'appointment-1', randomUUID().replace(/-/g, '')])('refuses the id %j', async (id) => {
    await invalid(() => sys.client.getAppointment({ id }), 'id');
  });
});

describe('ListAppointments', () => {
  const request = (fields: Partial<ListAppointmentsRequest>) => ListAppointmentsRequest.fromPartial({ patientId: patient.id, ...fields });
  const from = new Date(Date.now() + 3_600_000);

  it.each([
    ['patient_id', { patientId: '' }],
    ['patient_id', { patientId: 'p' }],
    ['doctor_id', { doctorId: 'd' }],
    ['start_time_to', { startTimeFrom: from, startTimeTo: from }],
    ['start_time_to', { startTimeFrom: from, startTimeTo: new Date(+from - 1) }],
    ['page_size', { pageSize: -1 }],
    ['page_size', { pageSize: 501 }],
    ['page_token', { pageToken: 'not a token' }],
    ['page_token', { pageToken: Buffer.from('{"k":["2030-01-01T00:00:00Z",1],"f":"x"}').toString('base64url') }],
    ['start_time_from', { startTimeFrom: new Date('-001000-01-01T00:00:00Z') }],
    ['start_time_to', { startTimeTo: new Date('+012000-01-01T00:00:00Z') }],
  ])('refuses a bad %s (%j)', async (field, fields) => {
    await invalid(() => sys.client.listAppointments(request(fields)), field);
  });

  it('refuses a page token issued for another query', async () => {
    await book(sys, patient, slots[2]);
    const first = await sys.client.listAppointments(request({ pageSize: 1 }));
    expect(first.nextPageToken).not.toBe('');
    await invalid(() => sys.client.listAppointments(request({ pageSize: 1, pageToken: first.nextPageToken, doctorId: slots[0].doctorId })), 'page_token');
    await invalid(() => sys.client.listAppointments(request({ pageSize: 1, pageToken: first.nextPageToken, startTimeFrom: from })), 'page_token');
  });
});

describe('CancelAppointment', () => {
  it.each([
    ['id', { id: '' }],
    ['id', { id: 'appointment-1' }],
    ['reason', { reason: tooLong(501) }],
  ])('refuses a bad %s (%j), leaving the appointment booked', async (field, override) => {
    await invalid(() => sys.client.cancelAppointment({ id: booked.id, reason: 'ill', ...override }), field);
    expect((await sys.client.getAppointment({ id: booked.id })).appointment?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);
    expect(await storedSlot(sys.catalog, slots[0].id)).toEqual({ status: 'booked', claim_id: booked.id });
  });
});

describe('RescheduleAppointment', () => {
  const valid = () => RescheduleAppointmentRequest.fromPartial({ id: booked.id, newSlotId: slots[1].id, requestId: newRequestId() });

  it.each([
    ['id', { id: '' }],
    ['id', { id: 'appointment-1' }],
    ['new_slot_id', { newSlotId: '' }],
    ['new_slot_id', { newSlotId: 'slot-2' }],
    ['request_id', { requestId: '' }],
    ['request_id', { requestId: ' \t ' }],
    ['request_id', { requestId: tooLong(129) }],
  ])('refuses a bad %s (%j), leaving the appointment and both slots alone', async (field, override) => {
    await invalid(() => sys.client.rescheduleAppointment({ ...valid(), ...override }), field);
    expect(await storedSlot(sys.catalog, slots[0].id)).toEqual({ status: 'booked', claim_id: booked.id });
    expect(await storedSlot(sys.catalog, slots[1].id)).toEqual({ status: 'open', claim_id: null });
  });

  it('names every bad field at once', async () => {
    const err = await invalid(() => sys.client.rescheduleAppointment({ id: 'x', newSlotId: 'y', requestId: '' }), 'id');
    expect(err.badRequest?.fieldViolations.map((v) => v.field)).toEqual(['id', 'new_slot_id', 'request_id']);
  });
});

describe('HoldAppointment', () => {
  const valid = () => HoldAppointmentRequest.fromPartial({ slotId: slots[1].id, patientId: patient.id, requestId: newRequestId(), holdDuration: { seconds: 60, nanos: 0 } });

  it.each([
    ['hold_duration', 'zero', { holdDuration: { seconds: 0, nanos: 0 } }],
    ['hold_duration', 'negative', { holdDuration: { seconds: -60, nanos: 0 } }],
    ['hold_duration', 'a millisecond over 15 minutes', { holdDuration: { seconds: 900, nanos: 1_000_000 } }],
    ['hold_duration', 'a day', { holdDuration: { seconds: 86_400, nanos: 0 } }],
    ['hold_duration', 'not whole milliseconds', { holdDuration: { seconds: 60, nanos: 1 } }],
    ['hold_duration.nanos', 'nanos out of range', { holdDuration: { seconds: 60, nanos: 1_000_000_000 } }],
    ['hold_duration.nanos', 'nanos against the sign of seconds', { holdDuration: { seconds: 60, nanos: -1_000_000 } }],
    ['slot_id', 'no slot', { slotId: '' }],
    ['patient_id', 'a bad patient', { patientId: 'patient-1' }],
    ['request_id', 'no request id', { requestId: ' ' }],
    ['reason', 'a long reason', { reason: tooLong(501) }],
  ])('refuses a bad %s (%s), holding nothing', async (field, _what, override) => {
    await invalid(() => sys.client.holdAppointment({ ...valid(), ...override }), field);
    expect(await storedSlot(sys.catalog, slots[1].id)).toEqual({ status: 'open', claim_id: null });
  });
});

describe('ConfirmAppointment', () => {
  it.each(['', 'appointment-1', randomUUID().replace(/-/g, '')])('refuses the id %j', async (id) => {
    await invalid(() => sys.client.confirmAppointment({ id }), 'id');
  });

  it('answers NOT_FOUND for an unknown appointment, writing nothing', async () => {
    await expectRefused(sys, () => sys.client.confirmAppointment({ id: randomUUID() }), status.NOT_FOUND, { reason: 'APPOINTMENT_NOT_FOUND' });
  });
});
