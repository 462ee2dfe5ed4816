// Doctors at several clinics: AddDoctorClinic, slots that carry the clinic
// where they happen, and the one overlap rule per doctor across clinics.

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clinic } from '@carebook/proto/catalog';
import { postgresErrorOf } from '@carebook/server';
import { createEmptyDatabase } from '@carebook/testing';
import { countRows, createClinic, createDoctor, expectRefused, startCatalogUnderTest, type CatalogUnderTest } from './harness';
import { DayOfWeek, createSchedule, day, rules, slotsOfDoctor } from './schedule-fixtures';

const NOW = new Date('2027-01-04T06:00:00Z'); // Monday
let catalog: CatalogUnderTest;
let berlin: Clinic;
let potsdam: Clinic;

beforeAll(async () => {
  catalog = await startCatalogUnderTest({ now: () => NOW, slotHorizonDays: 14 });
  berlin = await createClinic(catalog.client, { displayName: 'Praxis Berlin', timeZone: 'Europe/Berlin' });
  potsdam = await createClinic(catalog.client, { displayName: 'Praxis Potsdam', timeZone: 'Europe/Berlin' });
});

afterAll(async () => {
  await catalog?.close();
});

const sqlStateOf = (err: unknown) => {
  const pgError = postgresErrorOf(err);
  return pgError && { code: pgError.code, constraint: pgError.constraint };
};
const slot = (start: string, minutes = 30) => ({ startTime: new Date(start), endTime: new Date(Date.parse(start) + minutes * 60_000) });

describe('AddDoctorClinic', () => {
  it('CreateDoctor keeps working and lists the primary clinic; linking adds clinics in order, once', async () => {
    const doctor = await createDoctor(catalog.client, berlin.id);
    expect(doctor.clinicIds).toEqual([berlin.id]);
    const third = await createClinic(catalog.client);
    expect((await catalog.client.addDoctorClinic({ doctorId: doctor.id, clinicId: potsdam.id })).doctor!.clinicIds).toEqual([berlin.id, potsdam.id]);
    expect((await catalog.client.addDoctorClinic({ doctorId: doctor.id, clinicId: third.id })).doctor!.clinicIds).toEqual([berlin.id, potsdam.id, third.id]);
    const before = await countRows(catalog.sql);
    // Linking again, or linking the primary clinic, changes nothing.
    for (const clinicId of [potsdam.id, berlin.id]) {
      expect((await catalog.client.addDoctorClinic({ doctorId: doctor.id, clinicId })).doctor!.clinicIds).toEqual([berlin.id, potsdam.id, third.id]);
    }
    expect(await countRows(catalog.sql)).toEqual(before);
    expect((await catalog.client.getDoctor({ id: doctor.id })).doctor).toMatchObject({ clinicId: berlin.id, clinicIds: [berlin.id, potsdam.id, third.id] });
  });

  it('makes ListDoctors by clinic find the doctor at every clinic they practise at', async () => {
    const clinic = await createClinic(catalog.client);
    const [resident, visitor] = [await createDoctor(catalog.client, clinic.id), await createDoctor(catalog.client, berlin.id)];
    await catalog.client.addDoctorClinic({ doctorId: visitor.id, clinicId: clinic.id });
    const { doctors } = await catalog.client.listDoctors({ clinicId: clinic.id, specialty: '', pageSize: 0, pageToken: '' });
    expect(doctors.map((d) => d.id)).toEqual([resident.id, visitor.id]);
  });

  it('refuses malformed ids, and unknown doctors or clinics, writing nothing', async () => {
    const doctor = await createDoctor(catalog.client, berlin.id);
    await expectRefused(catalog, () => catalog.client.addDoctorClinic({ doctorId: 'x', clinicId: '' }), status.INVALID_ARGUMENT, { field: 'doctor_id' });
    await expectRefused(catalog, () => catalog.client.addDoctorClinic({ doctorId: doctor.id, clinicId: 'x' }), status.INVALID_ARGUMENT, { field: 'clinic_id' });
    await expectRefused(catalog, () => catalog.client.addDoctorClinic({ doctorId: randomUUID(), clinicId: potsdam.id }), status.NOT_FOUND, { reason: 'DOCTOR_NOT_FOUND' });
    await expectRefused(catalog, () => catalog.client.addDoctorClinic({ doctorId: doctor.id, clinicId: randomUUID() }), status.NOT_FOUND, { reason: 'CLINIC_NOT_FOUND' });
  });
});

describe('slots at several clinics', () => {
  it('CreateSlots puts slots at the clinic named, by default the primary one', async () => {
    const doctor = await createDoctor(catalog.client, berlin.id);
    await catalog.client.addDoctorClinic({ doctorId: doctor.id, clinicId: potsdam.id });
    const { slots: atPotsdam } = await catalog.client.createSlots({ doctorId: doctor.id, slots: [slot('2027-02-02T09:00Z')], clinicId: potsdam.id });
    const { slots: atBerlin } = await catalog.client.createSlots({ doctorId: doctor.id, slots: [slot('2027-02-04T09:00Z')] });
    expect([atPotsdam[0].clinicId, atBerlin[0].clinicId]).toEqual([potsdam.id, berlin.id]);
  });

  it('refuses a clinic the doctor does not practise at, and writes nothing', async () => {
    const doctor = await createDoctor(catalog.client, berlin.id);
    const err = await expectRefused(
      catalog,
      () => catalog.client.createSlots({ doctorId: doctor.id, slots: [slot('2027-02-02T09:00Z')], clinicId: potsdam.id }),
      status.FAILED_PRECONDITION,
      { reason: 'DOCTOR_NOT_AT_CLINIC' },
    );
    expect(err.errorInfo?.metadata).toEqual({ doctor_id: doctor.id, clinic_id: potsdam.id });
    await expectRefused(catalog, () => catalog.client.createSlots({ doctorId: doctor.id, slots: [slot('2027-02-02T09:00Z')], clinicId: 'x' }), status.INVALID_ARGUMENT, {
      field: 'clinic_id',
    });
  });

  it('refuses a slot at one clinic that overlaps the doctor’s slot at another (SLOT_OVERLAP, from the exclusion constraint)', async () => {
    const doctor = await createDoctor(catalog.client, berlin.id);
    await catalog.client.addDoctorClinic({ doctorId: doctor.id, clinicId: potsdam.id });
    const { slots: existing } = await catalog.client.createSlots({ doctorId: doctor.id, slots: [slot('2027-02-03T09:00Z')] });
    const err = await expectRefused(
      catalog,
      () => catalog.client.createSlots({ doctorId: doctor.id, slots: [slot('2027-02-03T09:15Z')], clinicId: potsdam.id }),
      status.ALREADY_EXISTS,
      { reason: 'SLOT_OVERLAP' },
    );
    expect(err.errorInfo?.metadata.conflicting_slot_id).toBe(existing[0].id);
  });

  it('the database itself refuses overlapping slots across clinics, and a slot at a clinic the doctor is not linked to', async () => {
    const doctor = await createDoctor(catalog.client, berlin.id);
    await catalog.client.addDoctorClinic({ doctorId: doctor.id, clinicId: potsdam.id });
    const stranger = await createClinic(catalog.client);
    const insert = (clinicId: string, start: string) =>
      catalog.sql.query('INSERT INTO slot (doctor_id, clinic_id, start_time, end_time) VALUES ($1, $2, $3, $4)', [doctor.id, clinicId, slot(start).startTime, slot(start).endTime]);
    await insert(berlin.id, '2027-02-05T09:00Z');
    expect(sqlStateOf(await insert(potsdam.id, '2027-02-05T09:20Z').catch((e) => e))).toEqual({ code: '23P01', constraint: 'slot_doctor_no_overlap' });
    expect(sqlStateOf(await insert(stranger.id, '2027-02-06T09:00Z').catch((e) => e))).toEqual({ code: '23503', constraint: 'slot_doctor_id_clinic_id_fkey' });
  });

  it('a doctor in Berlin on Tuesdays and in Potsdam on Thursdays gets slots at each, carrying the clinic', async () => {
    const doctor = await createDoctor(catalog.client, berlin.id);
    await catalog.client.addDoctorClinic({ doctorId: doctor.id, clinicId: potsdam.id });
    await createSchedule(catalog.client, doctor.id, berlin.id, { rules: rules([DayOfWeek.TUESDAY], '09:00', '12:00'), validFrom: day('2027-01-04') });
    await createSchedule(catalog.client, doctor.id, potsdam.id, { rules: rules([DayOfWeek.THURSDAY], '09:00', '12:00'), validFrom: day('2027-01-04') });
    const slots = await slotsOfDoctor(catalog.sql, doctor.id);
    const clinicOn = new Map(slots.map((s) => [s.start_time.toISOString().slice(0, 10), s.clinic_id]));
    expect([...clinicOn]).toEqual([
      ['2027-01-05', berlin.id],
      ['2027-01-07', potsdam.id],
      ['2027-01-12', berlin.id],
      ['2027-01-14', potsdam.id],
    ]);
    expect(slots).toHaveLength(4 * 9);
  });

  it('compares schedules in different time zones as real instants', async () => {
    const london = await createClinic(catalog.client, { timeZone: 'Europe/London' });
    const doctor = await createDoctor(catalog.client, berlin.id);
    await catalog.client.addDoctorClinic({ doctorId: doctor.id, clinicId: london.id });
    await createSchedule(catalog.client, doctor.id, berlin.id, { rules: rules([DayOfWeek.MONDAY], '10:00', '11:00'), validFrom: day('2027-01-04') });
    // 10:00-11:00 in London is 11:00-12:00 in Berlin: no clash, though the wall-clock hours are equal.
    await createSchedule(catalog.client, doctor.id, london.id, { rules: rules([DayOfWeek.MONDAY], '10:00', '11:00'), validFrom: day('2027-01-04') });
    // 09:00-09:40 in London is 10:00-10:40 in Berlin: a clash, though the wall-clock hours differ.
    await expectRefused(
      catalog,
      () => createSchedule(catalog.client, doctor.id, london.id, { rules: rules([DayOfWeek.MONDAY], '09:00', '09:40'), validFrom: day('2027-01-04') }),
      status.ALREADY_EXISTS,
      { reason: 'SCHEDULE_OVERLAP' },
    );
    // Three Mondays in the horizon (4, 11 and 18 January), three slots each, at two clinics.
    expect(await slotsOfDoctor(catalog.sql, doctor.id)).toHaveLength(3 * 3 * 2);
  });
});

describe('the schedules migration', () => {
  it('links every existing doctor to its primary clinic, so existing slots satisfy the new foreign key', async () => {
    const migrations = fileURLToPath(new URL('../../../prisma/catalog/migrations/', import.meta.url));
    const db = await createEmptyDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(await readFile(`${migrations}20261126000000_init/migration.sql`, 'utf8'));
      const { rows } = await client.query<{ clinic: string; doctor: string }>(`
        WITH c AS (INSERT INTO clinic (display_name, time_zone, address) VALUES ('Old', 'Europe/Berlin', 'x') RETURNING id),
             d AS (INSERT INTO doctor (clinic_id, display_name, specialty) SELECT id, 'Dr. Old', 'gp' FROM c RETURNING id, clinic_id)
        INSERT INTO slot (doctor_id, clinic_id, start_time, end_time) SELECT id, clinic_id, '2027-01-01T09:00Z', '2027-01-01T09:20Z' FROM d
        RETURNING clinic_id::text AS clinic, doctor_id::text AS doctor`);
      await client.query(await readFile(`${migrations}20261127000000_schedules/migration.sql`, 'utf8'));
      const links = await client.query('SELECT doctor_id::text, clinic_id::text FROM doctor_clinic');
      expect(links.rows).toEqual([{ doctor_id: rows[0].doctor, clinic_id: rows[0].clinic }]);
      expect((await client.query('SELECT schedule_id FROM slot')).rows).toEqual([{ schedule_id: null }]);
    } finally {
      await client.end();
      await db.drop();
    }
  });
});
