import { afterAll, beforeAll, expect, it } from 'vitest';
import { AppointmentStatus } from '@carebook/proto/booking';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

let sys: BookingUnderTest;
beforeAll(async () => {
  sys = await startBookingUnderTest();
});
afterAll(() => sys.close());

it('books and cancels', async () => {
  const { clinic } = await sys.catalog.client.createClinic({ clinic: { id: '', displayName: 'Mitte', timeZone: 'Europe/Berlin', address: 'x', createTime: undefined, updateTime: undefined } });
  const { doctor } = await sys.catalog.client.createDoctor({ doctor: { id: '', clinicId: clinic!.id, displayName: 'Dr A', specialty: 'cardiology', createTime: undefined, updateTime: undefined } });
  const start = new Date(Date.now() + 86_400_000);
  const { slots } = await sys.catalog.client.createSlots({ doctorId: doctor!.id, slots: [{ startTime: start, endTime: new Date(+start + 1_200_000) }] });
  const { patient } = await sys.client.createPatient({ patient: { id: '', displayName: 'P', email: 'p@example.org', phone: '', birthDate: { year: 1990, month: 5, day: 17 }, createTime: undefined, updateTime: undefined } });
  const { appointment } = await sys.client.bookAppointment({ slotId: slots[0].id, patientId: patient!.id, requestId: 'r1', reason: '' });
  expect(appointment?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);
  const { slot } = await sys.catalog.client.getSlot({ id: slots[0].id });
  expect(slot?.claimId).toBe(appointment!.id);
  const cancelled = await sys.client.cancelAppointment({ id: appointment!.id, reason: 'x' });
  expect(cancelled.appointment?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_CANCELLED);
  const after = await sys.catalog.client.getSlot({ id: slots[0].id });
  expect(after.slot?.claimId).toBe('');
});
