import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentStatus, ConsultationStatus, type Patient } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { pollUntil } from '@carebook/testing';
import { book, createPatient } from './booking-fixtures';
import { createVideoSlots, storedConsultation, untilConsultation } from './consultation-fixtures';
import { flakyVideoRooms, type FlakyVideoRooms } from './flaky-video-rooms';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

// What a video provider's failures do: nothing to bookings, which never wait
// for it; rooms are retried with capped backoff until made or revoked, and
// a refusal for good ends the room FAILED, the appointment still booked.

let sys: BookingUnderTest;
let provider: FlakyVideoRooms;
let patient: Patient;
let slots: Slot[];
let used = 0;
const freshSlot = () => slots[used++];

beforeAll(async () => {
  provider = flakyVideoRooms();
  sys = await startBookingUnderTest({
    videoRooms: provider,
    // Short backoff, so that six tries take well under a second.
    video: { opensBeforeMs: 900_000, graceMs: 1_800_000, intervalMs: 3_600_000, maxBackoffMs: 100 },
  });
  patient = await createPatient(sys.client);
  slots = await createVideoSlots(sys.catalog.client, 10);
});
afterEach(() => provider.reset());
afterAll(() => sys?.close());

describe('a failing video provider', () => {
  it('neither fails nor holds up a booking; a room that failed five times is made on the sixth try', async () => {
    provider.failCreates(5);
    const before = provider.calls.create;
    const appointment = await book(sys, patient, freshSlot());
    expect(appointment.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);

    // While the provider fails: no room shown, the consultation CREATING with its last error.
    await pollUntil('a failed try', async () => ((await storedConsultation(sys, appointment.id))?.last_error ? true : undefined));
    expect((await sys.client.getAppointment({ id: appointment.id })).appointment).toMatchObject({
      status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED,
      consultation: undefined,
    });
    expect((await sys.client.getConsultation({ appointmentId: appointment.id })).status).toBe(ConsultationStatus.CONSULTATION_STATUS_CREATING);

    const ready = await untilConsultation(sys, appointment.id, ConsultationStatus.CONSULTATION_STATUS_READY);
    expect(provider.calls.create - before).toBe(6);
    expect(await storedConsultation(sys, appointment.id)).toMatchObject({ status: 'ready', attempts: 6, last_error: null });
    expect((await sys.client.getAppointment({ id: appointment.id })).appointment?.consultation?.joinUrl).toBe(ready.patientJoinUrl);
  });

  it('books while the provider hangs, and makes the room once it answers', async () => {
    provider.hold();
    const started = Date.now();
    const appointment = await book(sys, patient, freshSlot());
    expect(appointment.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);
    // The provider is called (from the feed, in the background) and does not answer.
    await pollUntil('a call to the provider', async () => ((await storedConsultation(sys, appointment.id))?.attempts === 1 ? true : undefined));
    expect(Date.now() - started).toBeLessThan(5_000);
    provider.release();
    await untilConsultation(sys, appointment.id, ConsultationStatus.CONSULTATION_STATUS_READY);
  });

  it('retries a revocation until the provider confirms; the cancelled appointment shows no room meanwhile', async () => {
    const appointment = await book(sys, patient, freshSlot());
    await untilConsultation(sys, appointment.id, ConsultationStatus.CONSULTATION_STATUS_READY);
    provider.failRevokes(2);
    provider.failRevokes(1, 'throws');
    const before = provider.calls.revoke;
    const { appointment: cancelled } = await sys.client.cancelAppointment({ id: appointment.id, reason: '' });
    expect(cancelled).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_CANCELLED, consultation: undefined });
    await untilConsultation(sys, appointment.id, ConsultationStatus.CONSULTATION_STATUS_REVOKED);
    expect(provider.calls.revoke - before).toBe(4);
    expect(await storedConsultation(sys, appointment.id)).toMatchObject({ patient_join_url: null, doctor_join_url: null, last_error: null });
  });

  it('ends a room the provider refuses for good FAILED, the appointment still booked', async () => {
    provider.failCreates(1, 'permanent');
    const appointment = await book(sys, patient, freshSlot());
    const failed = await untilConsultation(sys, appointment.id, ConsultationStatus.CONSULTATION_STATUS_FAILED);
    expect(failed).toMatchObject({ doctorJoinUrl: '', patientJoinUrl: '' });
    expect(await storedConsultation(sys, appointment.id)).toMatchObject({ status: 'failed', last_error: 'provider: create refused (permanent)' });
    expect((await sys.client.getAppointment({ id: appointment.id })).appointment).toMatchObject({
      status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED,
      consultation: undefined,
    });
  });

  it('gives up a room the provider failed to make until the appointment was over', async () => {
    provider.failCreates(1000);
    const appointment = await book(sys, patient, freshSlot());
    await pollUntil('a failed try', async () => ((await storedConsultation(sys, appointment.id))?.last_error ? true : undefined));
    // Fixture: the appointment's links would have stopped working by now.
    await sys.sql.query("UPDATE consultation SET valid_from = now() - interval '2 hours', valid_until = now() - interval '1 second' WHERE appointment_id = $1", [
      appointment.id,
    ]);
    const failed = await untilConsultation(sys, appointment.id, ConsultationStatus.CONSULTATION_STATUS_FAILED);
    expect(failed).toMatchObject({ doctorJoinUrl: '', patientJoinUrl: '' });
    expect(await storedConsultation(sys, appointment.id)).toMatchObject({ last_error: 'the appointment was over before the provider made its room' });
  });

  it('revokes a room that was still being made when its appointment was cancelled', async () => {
    provider.hold();
    const appointment = await book(sys, patient, freshSlot());
    await pollUntil('the create call in flight', async () => ((await storedConsultation(sys, appointment.id))?.attempts === 1 ? true : undefined));
    await sys.client.cancelAppointment({ id: appointment.id, reason: '' });
    // The cancellation reaches the room before the provider answers: nothing was made yet.
    await pollUntil('the room marked revoked', async () => {
      await sys.service.sequencer.runOnce();
      await sys.service.consultations.recordFromFeed();
      return (await storedConsultation(sys, appointment.id))?.status === 'revoked' ? true : undefined;
    });
    const revokesBefore = provider.calls.revoke;
    provider.release();
    // The room the provider then makes is recorded to be revoked, and revoked.
    await pollUntil('the late room revoked', async () => {
      await sys.service.consultations.dispatchDue();
      const row = await storedConsultation(sys, appointment.id);
      return row?.status === 'revoked' && row.provider_room_id !== null ? row : undefined;
    });
    expect(provider.calls.revoke - revokesBefore).toBe(1);
    expect((await sys.client.getConsultation({ appointmentId: appointment.id })).status).toBe(ConsultationStatus.CONSULTATION_STATUS_REVOKED);
  });
});
