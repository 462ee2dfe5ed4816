import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentStatus, ConsultationStatus, ListAppointmentsRequest, type Appointment, type Patient } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { expectGrpcError, pollUntil } from '@carebook/testing';
import { book, createPatient, createSchedule, expectRefused, newRequestId } from './booking-fixtures';
import { createVideoSlots, storedConsultation, untilConsultation } from './consultation-fixtures';
import { feedClient } from './feed-client';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

// A video appointment's consultation room, through real gRPC and
// PostgreSQL with the real Jitsi adapter: made after the booking, shown to
// the patient with their link only, revoked on cancellation, replaced on a
// reschedule.

const OPENS_BEFORE_MS = 15 * 60_000;
const GRACE_MS = 30 * 60_000;

let sys: BookingUnderTest;
let patient: Patient;
let videoSlots: Slot[];
let inPersonSlots: Slot[];
let usedVideo = 0;
const freshVideoSlot = () => videoSlots[usedVideo++];

beforeAll(async () => {
  sys = await startBookingUnderTest({
    video: { opensBeforeMs: OPENS_BEFORE_MS, graceMs: GRACE_MS, intervalMs: 3_600_000, maxBackoffMs: 1000 },
  });
  patient = await createPatient(sys.client);
  videoSlots = await createVideoSlots(sys.catalog.client, 16);
  inPersonSlots = (await createSchedule(sys.catalog.client, 4, 48)).slots;
});
afterAll(() => sys?.close());

/** Books a fresh video slot and waits for its room. */
async function bookWithRoom(): Promise<{ appointment: Appointment; doctorJoinUrl: string; patientJoinUrl: string }> {
  const appointment = await book(sys, patient, freshVideoSlot());
  const { doctorJoinUrl, patientJoinUrl } = await untilConsultation(sys, appointment.id, ConsultationStatus.CONSULTATION_STATUS_READY);
  return { appointment, doctorJoinUrl, patientJoinUrl };
}

describe('a video appointment', () => {
  it("gets a room after its booking: the patient's link on the appointment, the doctor's only through GetConsultation", async () => {
    const slot = freshVideoSlot();
    const requestId = newRequestId();
    const { appointment: booked } = await sys.client.bookAppointment({ slotId: slot.id, patientId: patient.id, requestId, reason: '' });
    expect(booked?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);

    const consultation = await untilConsultation(sys, booked!.id, ConsultationStatus.CONSULTATION_STATUS_READY);
    const validFrom = new Date(+slot.startTime! - OPENS_BEFORE_MS);
    const validUntil = new Date(+slot.endTime! + GRACE_MS);
    expect(consultation).toEqual({
      status: ConsultationStatus.CONSULTATION_STATUS_READY,
      patientJoinUrl: expect.stringMatching(/^https:\/\/meet\.example\.org\/carebook-[0-9a-f]{32}\?invite=[0-9a-f]{32}$/),
      doctorJoinUrl: expect.stringMatching(/^https:\/\/meet\.example\.org\/carebook-[0-9a-f]{32}\?invite=[0-9a-f]{32}$/),
      validFrom,
      validUntil,
    });
    expect(consultation.doctorJoinUrl).not.toBe(consultation.patientJoinUrl);
    expect(new URL(consultation.doctorJoinUrl).pathname).toBe(new URL(consultation.patientJoinUrl).pathname);

    const patientRoom = { joinUrl: consultation.patientJoinUrl, validFrom, validUntil };
    expect((await sys.client.getAppointment({ id: booked!.id })).appointment?.consultation).toEqual(patientRoom);
    const { appointments } = await sys.client.listAppointments(ListAppointmentsRequest.fromPartial({ patientId: patient.id, pageSize: 100 }));
    expect(appointments.find((a) => a.id === booked!.id)?.consultation).toEqual(patientRoom);
    // A retry of the booking answers as GetAppointment does.
    const retried = await sys.client.bookAppointment({ slotId: slot.id, patientId: patient.id, requestId, reason: '' });
    expect(retried.appointment?.consultation).toEqual(patientRoom);
  });

  it('loses its room when cancelled: REVOKED, the links forgotten, none shown', async () => {
    const { appointment } = await bookWithRoom();
    const { appointment: cancelled } = await sys.client.cancelAppointment({ id: appointment.id, reason: 'better' });
    expect(cancelled?.consultation).toBeUndefined();
    // Before the feed reached it, a cancelled appointment already shows no room.
    expect((await sys.client.getAppointment({ id: appointment.id })).appointment?.consultation).toBeUndefined();

    const revoked = await untilConsultation(sys, appointment.id, ConsultationStatus.CONSULTATION_STATUS_REVOKED);
    expect(revoked).toMatchObject({ doctorJoinUrl: '', patientJoinUrl: '' });
    expect(await storedConsultation(sys, appointment.id)).toMatchObject({
      status: 'revoked',
      provider_room_id: expect.stringMatching(/^carebook-/),
      patient_join_url: null,
      doctor_join_url: null,
    });
  });

  it('moves to a new room when rescheduled: the old one revoked, the new one with other links', async () => {
    const first = await bookWithRoom();
    const { appointment: moved } = await sys.client.rescheduleAppointment({ id: first.appointment.id, newSlotId: freshVideoSlot().id, requestId: newRequestId() });
    const second = await untilConsultation(sys, moved!.id, ConsultationStatus.CONSULTATION_STATUS_READY);
    await untilConsultation(sys, first.appointment.id, ConsultationStatus.CONSULTATION_STATUS_REVOKED);
    expect([second.patientJoinUrl, second.doctorJoinUrl]).not.toContain(first.patientJoinUrl);
    expect(new URL(second.patientJoinUrl).pathname).not.toBe(new URL(first.patientJoinUrl).pathname);
    expect((await sys.client.getAppointment({ id: moved!.id })).appointment?.consultation?.joinUrl).toBe(second.patientJoinUrl);
  });

  it('moved to an in-person slot, loses its room and gets none', async () => {
    const first = await bookWithRoom();
    const { appointment: moved } = await sys.client.rescheduleAppointment({ id: first.appointment.id, newSlotId: inPersonSlots[0].id, requestId: newRequestId() });
    await untilConsultation(sys, first.appointment.id, ConsultationStatus.CONSULTATION_STATUS_REVOKED);
    expect(await storedConsultation(sys, moved!.id)).toBeUndefined();
  });
});

describe('a hold of a video slot', () => {
  it('gets a room once confirmed: the confirmation is its booking', async () => {
    const slot = freshVideoSlot();
    const { appointment: held } = await sys.client.holdAppointment({ slotId: slot.id, patientId: patient.id, requestId: newRequestId(), reason: '' });
    expect(held?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_HELD);
    await expectGrpcError(sys.client.getConsultation({ appointmentId: held!.id }), status.FAILED_PRECONDITION, { reason: 'APPOINTMENT_NOT_BOOKED' });
    await sys.client.confirmAppointment({ id: held!.id });
    const room = await untilConsultation(sys, held!.id, ConsultationStatus.CONSULTATION_STATUS_READY);
    expect((await sys.client.getAppointment({ id: held!.id })).appointment?.consultation?.joinUrl).toBe(room.patientJoinUrl);
  });

  it('gets none when the hold lapses: an EXPIRED appointment was never booked', async () => {
    const slot = freshVideoSlot();
    const { appointment: held } = await sys.client.holdAppointment({
      slotId: slot.id,
      patientId: patient.id,
      requestId: newRequestId(),
      reason: '',
      holdDuration: { seconds: 0, nanos: 200_000_000 },
    });
    // The hold lapses by catalog's clock, which is this machine's.
    await pollUntil('the hold to lapse', async () => (Date.now() > +held!.holdExpireTime! + 100 ? true : undefined));
    await expectGrpcError(sys.client.confirmAppointment({ id: held!.id }), status.FAILED_PRECONDITION, { reason: 'HOLD_EXPIRED' });
    expect((await sys.client.getAppointment({ id: held!.id })).appointment?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_EXPIRED);
    await sys.service.sequencer.runOnce();
    await sys.service.consultations.recordFromFeed();
    expect(await storedConsultation(sys, held!.id)).toBeUndefined();
    await expectGrpcError(sys.client.getConsultation({ appointmentId: held!.id }), status.FAILED_PRECONDITION, { reason: 'APPOINTMENT_NOT_BOOKED' });
  });
});

describe("the doctor's link", () => {
  it('is in no patient-facing response, nor in the event feed; the patient link is where it belongs', async () => {
    const kept = await bookWithRoom();
    const toCancel = await bookWithRoom();
    const toMove = await bookWithRoom();
    const keptRequestId = await requestIdOf(kept.appointment.id);
    const rescheduleRequestId = newRequestId();
    const { appointment: moved } = await sys.client.rescheduleAppointment({ id: toMove.appointment.id, newSlotId: freshVideoSlot().id, requestId: rescheduleRequestId });
    const movedRoom = await untilConsultation(sys, moved!.id, ConsultationStatus.CONSULTATION_STATUS_READY);
    const doctorLinks = [kept, toCancel, toMove, movedRoom].map((r) => r.doctorJoinUrl);
    const patientLinks = [kept, toCancel, toMove, movedRoom].map((r) => r.patientJoinUrl);
    // The part that tells the two links of a room apart: what a leak would carry.
    const doctorTokens = doctorLinks.map((link) => new URL(link).search);

    const responses: [string, unknown][] = [
      ['GetAppointment', await sys.client.getAppointment({ id: kept.appointment.id })],
      ['ListAppointments', await sys.client.listAppointments(ListAppointmentsRequest.fromPartial({ patientId: patient.id, pageSize: 100 }))],
      ['ListAppointments by doctor', await sys.client.listAppointments(ListAppointmentsRequest.fromPartial({ doctorId: kept.appointment.doctorId, pageSize: 100 }))],
      ['BookAppointment', await sys.client.bookAppointment({ slotId: kept.appointment.slotId, patientId: patient.id, requestId: keptRequestId, reason: '' })],
      ['CancelAppointment', await sys.client.cancelAppointment({ id: toCancel.appointment.id, reason: '' })],
      ['CancelAppointment again', await sys.client.cancelAppointment({ id: toCancel.appointment.id, reason: '' })],
      ['RescheduleAppointment', await sys.client.rescheduleAppointment({ id: toMove.appointment.id, newSlotId: moved!.slotId, requestId: rescheduleRequestId })],
    ];
    for (const [rpc, response] of responses) {
      const text = JSON.stringify(response);
      for (const secret of [...doctorLinks, ...doctorTokens]) expect(text.includes(secret), `${rpc} shows a doctor's link`).toBe(false);
    }
    expect(JSON.stringify(responses[0][1])).toContain(kept.patientJoinUrl);
    expect(JSON.stringify(responses[1][1])).toContain(kept.patientJoinUrl);
    expect(JSON.stringify(responses[3][1])).toContain(kept.patientJoinUrl);
    expect(JSON.stringify(responses[6][1])).toContain(movedRoom.patientJoinUrl);

    const feed = feedClient(sys.service.port);
    try {
      await sys.service.sequencer.runOnce();
      const { events } = await feed.listAppointmentEvents({ afterPosition: 0, pageSize: 1000 });
      const text = JSON.stringify(events);
      for (const secret of [...doctorLinks, ...doctorTokens, ...patientLinks]) expect(text.includes(secret), 'the event feed shows a link').toBe(false);
    } finally {
      feed.close();
    }
  });
});

/** The request id an appointment was booked with. */
async function requestIdOf(appointmentId: string): Promise<string> {
  const { rows } = await sys.sql.query('SELECT request_id FROM appointment WHERE id = $1', [appointmentId]);
  return rows[0].request_id;
}

describe('GetConsultation', () => {
  it('refuses a malformed appointment id, naming the field', async () => {
    for (const appointmentId of ['', 'appointment-1', `${randomUUID()}x`]) {
      await expectRefused(sys, () => sys.client.getConsultation({ appointmentId }), status.INVALID_ARGUMENT, { field: 'appointment_id' });
    }
  });

  it('answers NOT_FOUND for an unknown appointment', async () => {
    await expectRefused(sys, () => sys.client.getConsultation({ appointmentId: randomUUID() }), status.NOT_FOUND, { reason: 'APPOINTMENT_NOT_FOUND' });
  });

  it('refuses an in-person appointment with APPOINTMENT_NOT_VIDEO', async () => {
    const inPerson = await book(sys, patient, inPersonSlots[1]);
    await sys.service.sequencer.runOnce();
    await sys.service.consultations.recordFromFeed();
    const err = await expectRefused(sys, () => sys.client.getConsultation({ appointmentId: inPerson.id }), status.FAILED_PRECONDITION, {
      reason: 'APPOINTMENT_NOT_VIDEO',
    });
    expect(err.errorInfo?.metadata).toEqual({ appointment_id: inPerson.id });
    expect((await sys.client.getAppointment({ id: inPerson.id })).appointment?.consultation).toBeUndefined();
  });

  it('refuses a video appointment that was never booked with APPOINTMENT_NOT_BOOKED', async () => {
    const taken = freshVideoSlot();
    const first = await book(sys, patient, taken);
    // Its room made first, so that nothing changes in the background while the refusal is checked.
    await untilConsultation(sys, first.id, ConsultationStatus.CONSULTATION_STATUS_READY);
    const other = await createPatient(sys.client, { displayName: 'Other' });
    await sys.client.bookAppointment({ slotId: taken.id, patientId: other.id, requestId: newRequestId(), reason: '' }).catch(() => undefined);
    const { rows } = await sys.sql.query("SELECT id::text FROM appointment WHERE patient_id = $1 AND status = 'failed'", [other.id]);
    await expectRefused(sys, () => sys.client.getConsultation({ appointmentId: rows[0].id }), status.FAILED_PRECONDITION, { reason: 'APPOINTMENT_NOT_BOOKED' });
  });

  it('answers CREATING for a booked video appointment whose event the recorder has not read yet', async () => {
    // Holding the recorder's cursor row keeps the recorder from reading the feed.
    const holder = await sys.sql.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT position FROM appointment_event_cursor WHERE consumer = 'consultations' FOR UPDATE");
      const appointment = await book(sys, patient, freshVideoSlot());
      await sys.service.sequencer.runOnce();
      expect(await sys.service.consultations.recordFromFeed()).toBe(0);
      expect(await sys.client.getConsultation({ appointmentId: appointment.id })).toEqual({
        status: ConsultationStatus.CONSULTATION_STATUS_CREATING,
        doctorJoinUrl: '',
        patientJoinUrl: '',
      });
      expect(await storedConsultation(sys, appointment.id)).toBeUndefined();
      await holder.query('ROLLBACK');
      await untilConsultation(sys, appointment.id, ConsultationStatus.CONSULTATION_STATUS_READY);
    } finally {
      holder.release();
    }
  });
});
