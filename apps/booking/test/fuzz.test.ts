// Property-based fuzzing of every BookingService RPC, with booking calling a
// real catalog: a valid request built from the fixtures below, one field (or
// the whole encoding) mutated, sent raw. No reply may be INTERNAL or UNKNOWN,
// or larger than 16 KB, and a refused call must leave both databases
// unchanged. FUZZ_SEED, FUZZ_TIME_MS, FUZZ_PATH and FUZZ_REPORT=1: see
// libs/testing/src/fuzz.

import { Metadata, status, type Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookingServiceService as Booking, ConsultationStatus } from '@carebook/proto/booking';
import { Modality } from '@carebook/proto/catalog';
import { callTarget, createRawClient, fuzzServices, fuzzSettingsFromEnv, fuzzTarget, TEST_BOOKING_INTERNAL_TOKEN, type FuzzTarget, type RawReply } from '@carebook/testing';
import { consecutiveSlots, hoursFromNow, startCatalogUnderTest } from '../../catalog/test/harness';
import { createPatient, createSchedule, newRequestId } from './booking-fixtures';
import { untilConsultation } from './consultation-fixtures';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

const settings = fuzzSettingsFromEnv();
const HOUR = 3_600_000;
let sys: BookingUnderTest;
let raw: Client;
let fixtures: Awaited<ReturnType<typeof seedBooking>>;

/** A patient, eight open slots of one doctor and a video slot, four appointments and two holds on the eight, one video appointment with its room, and a page token of the patient's appointments. */
async function seedBooking(s: BookingUnderTest) {
  const { doctor, slots } = await createSchedule(s.catalog.client, 8);
  const patient = await createPatient(s.client);
  const book = async (slotIndex: number) => {
    const requestId = newRequestId();
    const { appointment } = await s.client.bookAppointment({ slotId: slots[slotIndex].id, patientId: patient.id, requestId, reason: 'check-up' });
    return { appointment: appointment!, requestId };
  };
  const booked = await book(0);
  const listed = await book(1);
  const toCancel = await book(2);
  const toReschedule = await book(3);
  // Held for the longest hold there is, so the holds outlast the run: one
  // whose HoldAppointment is retried, one to confirm (and confirm again).
  const holdRequest = { slotId: slots[5].id, patientId: patient.id, requestId: newRequestId(), reason: 'check-up', holdDuration: { seconds: 900, nanos: 0 } };
  await s.client.holdAppointment(holdRequest);
  const { appointment: toConfirm } = await s.client.holdAppointment({ ...holdRequest, slotId: slots[6].id, requestId: newRequestId() });
  const { slots: [videoSlot] } = await s.catalog.client.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(hoursFromNow(72), 1), modality: Modality.MODALITY_VIDEO });
  const { appointment: video } = await s.client.bookAppointment({ slotId: videoSlot.id, patientId: patient.id, requestId: newRequestId(), reason: '' });
  await untilConsultation(s, video!.id, ConsultationStatus.CONSULTATION_STATUS_READY);
  const listing = {
    patientId: patient.id,
    doctorId: doctor.id,
    startTimeFrom: new Date(+slots[0].startTime! - HOUR),
    startTimeTo: new Date(+slots[7].endTime! + HOUR),
    pageSize: 1,
    pageToken: '',
  };
  const { nextPageToken } = await s.client.listAppointments(listing);
  return {
    patient,
    slots,
    booked,
    listed,
    toCancel,
    toReschedule,
    holdRequest,
    toConfirm: toConfirm!,
    video: video!,
    rescheduleRequestId: newRequestId(),
    listing: { ...listing, pageToken: nextPageToken },
  };
}

/** The metadata of the event feed: the internal credential, so the fuzz reaches its validation. */
const feedMetadata = () => {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${TEST_BOOKING_INTERNAL_TOKEN}`);
  return metadata;
};

/**
 * Every BookingService RPC with a valid request from the fixtures; the
 * writing ones are idempotent, so they stay valid. WatchAppointmentEvents,
 * the one stream, replays the fixtures' events from position 0: the fuzz
 * ends each call it accepts at its first event (callRawStream).
 */
function bookingTargets(): FuzzTarget[] {
  const f = fixtures;
  return [
    fuzzTarget(Booking.createPatient, () => ({ patient: f.patient })),
    fuzzTarget(Booking.getPatient, () => ({ id: f.patient.id })),
    fuzzTarget(Booking.batchGetPatients, () => ({ ids: [f.patient.id, f.patient.id] })),
    fuzzTarget(Booking.updatePatient, () => ({ patient: f.patient, updateMask: ['display_name', 'email', 'sms_reminders'] })),
    fuzzTarget(Booking.listAppointmentEvents, () => ({ afterPosition: 0, pageSize: 10 }), feedMetadata),
    fuzzTarget(Booking.watchAppointmentEvents, () => ({ afterPosition: 0 }), feedMetadata),
    fuzzTarget(Booking.bookAppointment, () => ({ slotId: f.slots[0].id, patientId: f.patient.id, requestId: f.booked.requestId, reason: 'check-up' })),
    fuzzTarget(Booking.getAppointment, () => ({ id: f.listed.appointment.id })),
    fuzzTarget(Booking.batchGetAppointments, () => ({ ids: [f.listed.appointment.id] })),
    fuzzTarget(Booking.listAppointments, () => f.listing),
    fuzzTarget(Booking.cancelAppointment, () => ({ id: f.toCancel.appointment.id, reason: 'feeling better' })),
    fuzzTarget(Booking.holdAppointment, () => f.holdRequest),
    fuzzTarget(Booking.confirmAppointment, () => ({ id: f.toConfirm.id })),
    fuzzTarget(Booking.rescheduleAppointment, () => ({
      id: f.toReschedule.appointment.id,
      newSlotId: f.slots[4].id,
      requestId: f.rescheduleRequestId,
    })),
    fuzzTarget(Booking.getConsultation, () => ({ appointmentId: f.video.id })),
  ];
}

/**
 * Refusals that write by design: a booking, hold or rescheduling refused
 * with SLOT_UNAVAILABLE keeps a FAILED appointment, so a retry of its
 * request_id gets the same answer (booking.proto, BookAppointment).
 */
function writesOnRefusal(rpc: string, reply: RawReply): string[] {
  const booksASlot = rpc === 'BookAppointment' || rpc === 'HoldAppointment' || rpc === 'RescheduleAppointment';
  return booksASlot && reply.code === status.FAILED_PRECONDITION && reply.reason === 'SLOT_UNAVAILABLE' ? ['booking.appointment'] : [];
}

beforeAll(async () => {
  const catalog = await startCatalogUnderTest({ slotHorizonDays: 14 });
  sys = await startBookingUnderTest({ catalog });
  fixtures = await seedBooking(sys);
  raw = createRawClient(`127.0.0.1:${sys.service.port}`);
});

afterAll(async () => {
  raw?.close();
  await sys?.close();
  await sys?.catalog.close();
});

describe('BookingService fuzz', () => {
  it('accepts the valid request of every RPC (the fuzz starts from these)', async () => {
    const refused = [];
    for (const target of bookingTargets()) {
      const reply = await callTarget(raw, target, target.codec.encode(target.valid()).finish(), target.metadata?.());
      if (reply.code !== status.OK) refused.push(`${target.rpc}: ${status[reply.code]} ${reply.details}`);
      if (target.stream) expect(reply.streamedMessages, `${target.rpc} streams the fixtures' events`).toBe(1);
    }
    expect(refused).toEqual([]);
    expect(fixtures.listing.pageToken, 'the listing has a second page').not.toBe('');
  });

  it('sees a refused stream as refused, not as one it ended itself', async () => {
    const watch = bookingTargets().find((t) => t.stream)!;
    const bytes = watch.codec.encode({ afterPosition: -1 }).finish();
    const refused = await callTarget(raw, watch, bytes, watch.metadata?.());
    expect([status[refused.code], refused.reason, refused.streamedMessages]).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 0]);
    const outsider = await callTarget(raw, watch, watch.codec.encode(watch.valid()).finish());
    expect([status[outsider.code], outsider.reason]).toEqual(['UNAUTHENTICATED', 'CREDENTIAL_MISSING']);
  });

  it('never answers INTERNAL or UNKNOWN, never replies over 16 KB, and writes nothing when it refuses', async () => {
    await fuzzServices({
      address: `127.0.0.1:${sys.service.port}`,
      targets: bookingTargets(),
      databases: { booking: sys.sql, catalog: sys.catalog.sql },
      settings,
      writesOnRefusal,
    });
  }, settings.timeMs + 120_000);
});
