// A slot carries a copy of its doctor's specialty, the key of the search by
// specialty (docs/design.md, section 1.1; docs/search.md, section 2). The database keeps the copy
// right on every path: a trigger fills it on inserts that leave it out, and
// the foreign key slot (doctor_id, specialty) → doctor (id, specialty)
// refuses a wrong one and carries a change of the doctor's specialty over.
// Both copies are lower case, which CHECKs hold whoever writes (migration
// 20261201000000_specialty_lower_case; docs/design.md, section 1.4).

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clinic, Doctor } from '@carebook/proto/catalog';
import { postgresErrorOf } from '@carebook/server';
import { countRows, tableSnapshot, createClinic, createDoctor, searchRequest, startCatalogUnderTest, withNames, type CatalogUnderTest } from './harness';
import { DayOfWeek, createSchedule, day, rules, slotsOfSchedule } from './schedule-fixtures';

const NOW = new Date('2027-03-01T06:00:00Z'); // Monday
let catalog: CatalogUnderTest;
let clinic: Clinic;

beforeAll(async () => {
  catalog = await startCatalogUnderTest({ now: () => NOW, slotHorizonDays: 14 });
  clinic = await createClinic(catalog.client, { timeZone: 'Europe/Berlin' });
});

afterAll(async () => {
  await catalog?.close();
});

const slot = (start: string, minutes = 30) => ({ startTime: new Date(start), endTime: new Date(Date.parse(start) + minutes * 60_000) });

const sqlStateOf = (err: unknown) => {
  const pgError = postgresErrorOf(err);
  return pgError && { code: pgError.code, constraint: pgError.constraint };
};

/** The specialty of each of the doctor's slots, by start time. */
async function specialtiesOfSlots(doctorId: string): Promise<string[]> {
  const { rows } = await catalog.sql.query<{ specialty: string }>('SELECT specialty FROM slot WHERE doctor_id = $1 ORDER BY start_time', [doctorId]);
  return rows.map((r) => r.specialty);
}

/** A raw INSERT of one slot of the doctor at `clinic`, with the given specialty or none. */
function insertSlot(doctorId: string, start: string, specialty?: string) {
  const { startTime, endTime } = slot(start);
  return specialty === undefined
    ? catalog.sql.query('INSERT INTO slot (doctor_id, clinic_id, start_time, end_time) VALUES ($1, $2, $3, $4)', [doctorId, clinic.id, startTime, endTime])
    : catalog.sql.query('INSERT INTO slot (doctor_id, clinic_id, start_time, end_time, specialty) VALUES ($1, $2, $3, $4, $5)', [
        doctorId,
        clinic.id,
        startTime,
        endTime,
        specialty,
      ]);
}

describe("a slot's specialty", () => {
  it("is the doctor's on slots from CreateSlots, and the response still shows no names", async () => {
    const doctor = await createDoctor(catalog.client, clinic.id, { specialty: ' Dermatology ' });
    const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: [slot('2027-03-10T09:00Z'), slot('2027-03-10T10:00Z')] });
    expect(await specialtiesOfSlots(doctor.id)).toEqual(['dermatology', 'dermatology']);
    // The API fills specialty only together with the other names (GetSlot, searches).
    expect(slots.map((s) => [s.specialty, s.doctorDisplayName])).toEqual([
      ['', ''],
      ['', ''],
    ]);
    expect((await catalog.client.getSlot({ id: slots[0].id })).slot).toEqual(withNames(slots[0], doctor, clinic));
  });

  it("is the doctor's on slots the schedule materialiser makes", async () => {
    const doctor = await createDoctor(catalog.client, clinic.id, { specialty: 'neurology' });
    const schedule = await createSchedule(catalog.client, doctor.id, clinic.id, { rules: rules([DayOfWeek.TUESDAY], '09:00', '11:00'), validFrom: day('2027-03-01') });
    const made = await slotsOfSchedule(catalog.sql, schedule.id);
    expect(made).toHaveLength(2 * 6); // two Tuesdays within 14 days, 09:00-11:00 in 20-minute slots
    expect(await specialtiesOfSlots(doctor.id)).toEqual(made.map(() => 'neurology'));
  });

  it("is the doctor's on a raw INSERT that leaves it out, and a raw INSERT may supply it", async () => {
    const doctor = await createDoctor(catalog.client, clinic.id, { specialty: 'urology' });
    await insertSlot(doctor.id, '2027-03-11T09:00Z');
    await insertSlot(doctor.id, '2027-03-11T10:00Z', 'urology');
    expect(await specialtiesOfSlots(doctor.id)).toEqual(['urology', 'urology']);
  });

  it("cannot differ from the doctor's: the foreign key refuses the INSERT, and nothing is written", async () => {
    const doctor = await createDoctor(catalog.client, clinic.id, { specialty: 'oncology' });
    const before = await countRows(catalog.sql);
    expect(sqlStateOf(await insertSlot(doctor.id, '2027-03-12T09:00Z', 'cardiology').catch((e) => e))).toEqual({
      code: '23503',
      constraint: 'slot_doctor_id_specialty_fkey',
    });
    expect(await countRows(catalog.sql)).toEqual(before);
  });

  it('cannot belong to an unknown doctor: refused as a foreign-key violation, not as a missing specialty', async () => {
    const before = await countRows(catalog.sql);
    expect(sqlStateOf(await insertSlot(randomUUID(), '2027-03-12T09:00Z').catch((e) => e))).toEqual({
      code: '23503',
      constraint: 'slot_doctor_id_specialty_fkey',
    });
    expect(await countRows(catalog.sql)).toEqual(before);
  });

  it('cannot be changed on its own', async () => {
    const doctor = await createDoctor(catalog.client, clinic.id, { specialty: 'pediatrics' });
    const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: [slot('2027-03-13T09:00Z')] });
    const err = await catalog.sql.query(`UPDATE slot SET specialty = 'cardiology' WHERE id = $1`, [slots[0].id]).catch((e) => e);
    expect(sqlStateOf(err)).toEqual({ code: '23503', constraint: 'slot_doctor_id_specialty_fkey' });
    expect(await specialtiesOfSlots(doctor.id)).toEqual(['pediatrics']);
  });

  it("follows a change of the doctor's specialty, on open and booked slots alike, and search follows it", async () => {
    const [moving, staying]: Doctor[] = [
      await createDoctor(catalog.client, clinic.id, { displayName: 'Dr. Moving', specialty: 'internal medicine' }),
      await createDoctor(catalog.client, clinic.id, { displayName: 'Dr. Staying', specialty: 'internal medicine' }),
    ];
    const { slots } = await catalog.client.createSlots({ doctorId: moving.id, slots: [slot('2027-03-15T09:00Z'), slot('2027-03-15T10:00Z')] });
    const { slots: others } = await catalog.client.createSlots({ doctorId: staying.id, slots: [slot('2027-03-15T09:00Z')] });
    await catalog.client.claimSlot({ slotId: slots[1].id, claimId: randomUUID() });

    await catalog.sql.query(`UPDATE doctor SET specialty = 'geriatrics' WHERE id = $1`, [moving.id]);

    expect(await specialtiesOfSlots(moving.id)).toEqual(['geriatrics', 'geriatrics']);
    expect(await specialtiesOfSlots(staying.id)).toEqual(['internal medicine']);
    const search = async (specialty: string) =>
      (await catalog.client.searchSlots(searchRequest({ specialty, startTimeFrom: NOW, startTimeTo: new Date('2027-03-31T00:00Z'), pageSize: 100 }))).slots;
    expect(await search('geriatrics')).toEqual([withNames(slots[0], { ...moving, specialty: 'geriatrics' }, clinic)]);
    expect(await search('internal medicine')).toEqual([withNames(others[0], staying, clinic)]);
  });
});

describe('a specialty in the database', () => {
  const refusedBy = (constraint: string) => ({ code: '23514', constraint });

  it('is refused in upper case on a direct INSERT of a doctor, and nothing is written', async () => {
    const before = await tableSnapshot(catalog.sql);
    const err = await catalog.sql
      .query(`INSERT INTO doctor (clinic_id, display_name, specialty) VALUES ($1, 'Dr. Upper', 'Cardiology')`, [clinic.id])
      .catch((e) => e);
    expect(sqlStateOf(err)).toEqual(refusedBy('doctor_specialty_lower_case_check'));
    expect(await tableSnapshot(catalog.sql)).toEqual(before);
  });

  it("is refused in upper case on a direct UPDATE of a doctor, and neither the doctor nor its slots change", async () => {
    const doctor = await createDoctor(catalog.client, clinic.id, { specialty: 'allergology' });
    await catalog.client.createSlots({ doctorId: doctor.id, slots: [slot('2027-03-16T09:00Z')] });
    const before = await tableSnapshot(catalog.sql);
    const err = await catalog.sql.query(`UPDATE doctor SET specialty = 'ALLERGOLOGY' WHERE id = $1`, [doctor.id]).catch((e) => e);
    expect(sqlStateOf(err)).toEqual(refusedBy('doctor_specialty_lower_case_check'));
    expect(await tableSnapshot(catalog.sql)).toEqual(before);
  });

  it("is refused in upper case on a slot's copy, on INSERT and on UPDATE, before the foreign key is asked", async () => {
    const doctor = await createDoctor(catalog.client, clinic.id, { specialty: 'nephrology' });
    const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: [slot('2027-03-17T09:00Z')] });
    const before = await tableSnapshot(catalog.sql);
    expect(sqlStateOf(await insertSlot(doctor.id, '2027-03-17T10:00Z', 'Nephrology').catch((e) => e))).toEqual(
      refusedBy('slot_specialty_lower_case_check'),
    );
    const err = await catalog.sql.query(`UPDATE slot SET specialty = 'NEPHROLOGY' WHERE id = $1`, [slots[0].id]).catch((e) => e);
    expect(sqlStateOf(err)).toEqual(refusedBy('slot_specialty_lower_case_check'));
    expect(await tableSnapshot(catalog.sql)).toEqual(before);
  });

  it('accepts what CreateDoctor stores, non-ASCII letters included: the code lower-cases as the database does', async () => {
    const doctor = await createDoctor(catalog.client, clinic.id, { specialty: ' Ärztliche Psychotherapie ' });
    await catalog.client.createSlots({ doctorId: doctor.id, slots: [slot('2027-03-18T09:00Z')] });
    const { rows } = await catalog.sql.query<{ specialty: string; lowered: string }>('SELECT specialty, lower(specialty) AS lowered FROM doctor WHERE id = $1', [
      doctor.id,
    ]);
    expect(rows).toEqual([{ specialty: 'ärztliche psychotherapie', lowered: 'ärztliche psychotherapie' }]);
    expect(await specialtiesOfSlots(doctor.id)).toEqual(['ärztliche psychotherapie']);
  });
});
