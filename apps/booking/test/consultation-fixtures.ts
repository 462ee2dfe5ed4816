import { ConsultationStatus, type GetConsultationResponse } from '@carebook/proto/booking';
import { Modality, type CatalogClient, type Slot } from '@carebook/proto/catalog';
import { pollUntil } from '@carebook/testing';
import { consecutiveSlots, createClinic, createDoctor, hoursFromNow } from '../../catalog/test/harness';
import type { BookingUnderTest } from './harness';

// Consultation rooms in the integration tests: waiting for the feed and the
// dispatcher, and reading what was stored.

/** `count` consecutive open VIDEO slots of 20 minutes of a new doctor, `hoursAhead` (rounded up to the hour) from now. */
export async function createVideoSlots(catalog: CatalogClient, count: number, hoursAhead = 24): Promise<Slot[]> {
  const clinic = await createClinic(catalog);
  const doctor = await createDoctor(catalog, clinic.id);
  const { slots } = await catalog.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(hoursFromNow(hoursAhead), count), modality: Modality.MODALITY_VIDEO });
  return slots;
}

/**
 * Runs the sequencer, the recorder and the dispatcher (as their loops would)
 * until GetConsultation shows `expected`; returns that answer.
 */
export function untilConsultation(sys: BookingUnderTest, appointmentId: string, expected: ConsultationStatus, timeoutMs = 10_000): Promise<GetConsultationResponse> {
  return pollUntil(
    `consultation of ${appointmentId} to be ${ConsultationStatus[expected]}`,
    async () => {
      await sys.service.sequencer.runOnce();
      await sys.service.consultations.recordFromFeed();
      await sys.service.consultations.dispatchDue();
      const consultation = await sys.client.getConsultation({ appointmentId });
      return consultation.status === expected ? consultation : undefined;
    },
    timeoutMs,
  );
}

/** The consultation row of an appointment, as stored. */
export async function storedConsultation(sys: BookingUnderTest, appointmentId: string) {
  const { rows } = await sys.sql.query(
    `SELECT status::text, provider_room_id, patient_join_url, doctor_join_url, attempts, last_error, valid_from, valid_until
       FROM consultation WHERE appointment_id = $1`,
    [appointmentId],
  );
  return rows[0];
}
