import { Patient, type BookingClient } from '@carebook/proto/booking';
import type { CatalogClient } from '@carebook/proto/catalog';
import { consecutiveSlots, createClinic, createDoctor, hoursFromNow } from '../../catalog/test/harness';

// Seeding for the multi-process tests (race, crash).

/** A clinic, a doctor and `count` consecutive open future slots; returns the slot ids. */
export async function seedSlots(catalog: CatalogClient, count: number, hoursAhead = 24): Promise<string[]> {
  const clinic = await createClinic(catalog);
  const doctor = await createDoctor(catalog, clinic.id);
  const { slots } = await catalog.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(hoursFromNow(hoursAhead), count) });
  return slots.map((s) => s.id);
}

/** Creates `count` patients, 50 at a time; returns their ids in creation order. */
export async function seedPatients(client: BookingClient, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 50) {
    const batch = Array.from({ length: Math.min(50, count - start) }, (_, k) => start + k);
    const created = await Promise.all(
      batch.map((i) =>
        client.createPatient({
          patient: Patient.fromPartial({ displayName: `Patient ${i}`, email: `patient${i}@example.org`, birthDate: { year: 1980, month: 1, day: 1 + (i % 28) } }),
        }),
      ),
    );
    ids.push(...created.map((r) => r.patient!.id));
  }
  return ids;
}
