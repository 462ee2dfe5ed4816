import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentStatus, ListAppointmentsRequest, type Appointment, type Patient } from '@carebook/proto/booking';
import { expectGrpcError } from '@carebook/testing';
import { walkPages } from '../../catalog/test/harness';
import { book, createPatient, createSchedule, expectRefused, newRequestId, type Schedule } from './booking-fixtures';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

let sys: BookingUnderTest;
let a: Schedule;
let b: Schedule;
let alice: Patient;
let bob: Patient;
const all: Appointment[] = [];

/** Appointments as ListAppointments orders them: start_time, then id. */
const inListOrder = (items: Appointment[]) => [...items].sort((x, y) => +x.startTime! - +y.startTime! || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
const ids = (items: Appointment[]) => items.map((x) => x.id);
const list = (fields: Partial<ListAppointmentsRequest>) => sys.client.listAppointments(ListAppointmentsRequest.fromPartial(fields));

beforeAll(async () => {
  sys = await startBookingUnderTest();
  // Two doctors with slots at the same times, so appointments tie on start_time.
  a = await createSchedule(sys.catalog.client, 6);
  b = await createSchedule(sys.catalog.client, 6);
  alice = await createPatient(sys.client, { displayName: 'Alice' });
  bob = await createPatient(sys.client, { displayName: 'Bob' });
  for (const slot of [a.slots[0], a.slots[1], a.slots[2], b.slots[0], b.slots[1], a.slots[5]]) all.push(await book(sys, alice, slot));
  for (const slot of [a.slots[3], b.slots[2], a.slots[4]]) all.push(await book(sys, bob, slot));
  // A cancelled appointment and a failed one are listed too.
  const cancelled = await sys.client.cancelAppointment({ id: all[5].id, reason: 'moved away' });
  all[5] = cancelled.appointment!;
  const requestId = newRequestId();
  await expectGrpcError(sys.client.bookAppointment({ slotId: a.slots[0].id, patientId: bob.id, requestId, reason: '' }), status.FAILED_PRECONDITION, {
    reason: 'SLOT_UNAVAILABLE',
  });
  const { rows } = await sys.sql.query('SELECT id::text FROM appointment WHERE request_id = $1', [requestId]);
  all.push((await sys.client.getAppointment({ id: rows[0].id })).appointment!);
});
afterAll(() => sys?.close());

describe('ListAppointments', () => {
  it('lists a patient\'s appointments of every status by start time, then id', async () => {
    const { appointments, nextPageToken } = await list({ patientId: alice.id });
    expect(appointments).toEqual(inListOrder(all.filter((x) => x.patientId === alice.id)));
    expect(appointments).toHaveLength(6);
    expect(appointments.map((x) => x.status)).toContain(AppointmentStatus.APPOINTMENT_STATUS_CANCELLED);
    expect(nextPageToken).toBe('');
  });

  it('lists a doctor\'s appointments across patients', async () => {
    const { appointments } = await list({ doctorId: a.doctor.id });
    expect(appointments).toEqual(inListOrder(all.filter((x) => x.doctorId === a.doctor.id)));
    expect(appointments).toHaveLength(7);
    expect(appointments.map((x) => x.status)).toContain(AppointmentStatus.APPOINTMENT_STATUS_FAILED);
  });

  it('lists one patient\'s appointments with one doctor when given both', async () => {
    const { appointments } = await list({ patientId: bob.id, doctorId: a.doctor.id });
    expect(ids(appointments)).toEqual(ids(inListOrder(all.filter((x) => x.patientId === bob.id && x.doctorId === a.doctor.id))));
    expect(appointments).toHaveLength(3);
  });

  it('limits the list to a window: from inclusive, to exclusive', async () => {
    const from = a.slots[1].startTime!;
    const to = a.slots[2].startTime!;
    const { appointments } = await list({ patientId: alice.id, startTimeFrom: from, startTimeTo: to });
    expect(ids(appointments)).toEqual(ids(inListOrder([all[1], all[4]])));
    const onlyFrom = await list({ patientId: alice.id, startTimeFrom: a.slots[2].startTime });
    expect(ids(onlyFrom.appointments)).toEqual(ids(inListOrder([all[2], all[5]])));
    const onlyTo = await list({ patientId: alice.id, startTimeTo: a.slots[1].startTime });
    expect(ids(onlyTo.appointments)).toEqual(ids(inListOrder([all[0], all[3]])));
    const empty = await list({ patientId: alice.id, startTimeFrom: new Date(Date.now() - 7_200_000), startTimeTo: new Date(Date.now() - 3_600_000) });
    expect(empty).toEqual({ appointments: [], nextPageToken: '' });
  });

  it('returns an empty list for a patient or doctor without appointments', async () => {
    expect(await list({ patientId: randomUUID() })).toEqual({ appointments: [], nextPageToken: '' });
    expect(await list({ doctorId: randomUUID() })).toEqual({ appointments: [], nextPageToken: '' });
  });

  it.each([1, 2, 3, 4, 7, 8])('pages through a doctor\'s appointments %i at a time without duplicates or gaps', async (pageSize) => {
    const expected = ids(inListOrder(all.filter((x) => x.doctorId === a.doctor.id)));
    const sizes: number[] = [];
    const { items, pages } = await walkPages(async (pageToken) => {
      const page = await list({ doctorId: a.doctor.id, pageSize, pageToken });
      sizes.push(page.appointments.length);
      return { items: page.appointments, nextPageToken: page.nextPageToken };
    });
    expect(ids(items)).toEqual(expected);
    expect(pages).toBe(Math.max(1, Math.ceil(expected.length / pageSize)));
    expect(sizes.slice(0, -1).every((n) => n === pageSize)).toBe(true);
  });

  it('pages through tied start times in id order', async () => {
    const { items } = await walkPages(async (pageToken) => {
      const page = await list({ patientId: alice.id, pageSize: 1, pageToken });
      return { items: page.appointments, nextPageToken: page.nextPageToken };
    });
    expect(ids(items)).toEqual(ids(inListOrder(all.filter((x) => x.patientId === alice.id))));
    expect(+items[0].startTime!).toBe(+items[1].startTime!);
  });

  it('keeps its place when an earlier appointment is added between pages', async () => {
    const carol = await createPatient(sys.client, { displayName: 'Carol' });
    const later = await createSchedule(sys.catalog.client, 4, 48);
    const early = await createSchedule(sys.catalog.client, 1, 12);
    const mine = [];
    for (const slot of later.slots) mine.push(await book(sys, carol, slot));
    const first = await list({ patientId: carol.id, pageSize: 2 });
    expect(ids(first.appointments)).toEqual(ids(mine.slice(0, 2)));
    await book(sys, carol, early.slots[0]); // sorts before the cursor: not seen by later pages
    const second = await list({ patientId: carol.id, pageSize: 2, pageToken: first.nextPageToken });
    expect(ids(second.appointments)).toEqual(ids(mine.slice(2, 4)));
    expect(second.nextPageToken).toBe('');
  });

  it('refuses a request without patient_id and doctor_id, writing nothing', async () => {
    await expectRefused(sys, () => list({}), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field: 'patient_id' });
    await expectRefused(sys, () => list({ startTimeFrom: new Date(), pageSize: 10 }), status.INVALID_ARGUMENT, { field: 'patient_id' });
  });
});
