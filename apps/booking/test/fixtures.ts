import { Patient, type BookingClient } from '@carebook/proto/booking';
import type { CatalogClient } from '@carebook/proto/catalog';
import { consecutiveSlots, createClinic, createDoctor, hoursFromNow } from '../../catalog/test/harness';

// NOTE: reconstructed by the booking-tests helper after it accidentally
// overwrote this file; signatures inferred from race.test.ts. Please check.

/** A clinic, a doctor and `count` consecutive open future slots; returns the slot ids. */
export async function seedSlots(catalog: CatalogClient, count: number, hoursAhead = 24): Promise<string[]> {
  const clinic = await createClinic(catalog);
  const doctor = await createDoctor(catalog, clinic.id);
  const { slots } = await catalog.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(hoursFromNow(hoursAhead), count) });
  return slots.map((s) => s.id);
}

/** Creates `count` patients; returns their ids. */
export async function seedPatients(client: BookingClient, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const patient = Patient.fromPartial({ displayName: `Patient ${i}`, email: `patient${i}@example.org`, birthDate: { year: 1980, month: 1, day: 1 + (i % 28) } });
    const response = await client.createPatient({ patient });
    ids.push(response.patient!.id);
  }
  return ids;
}
