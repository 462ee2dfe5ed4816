import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Doctor, type Clinic } from '@carebook/proto/catalog';
import { createClinic, createDoctor, expectRefused, startCatalogUnderTest, walkPages, type CatalogUnderTest } from './harness';

let catalog: CatalogUnderTest;
let clinic: Clinic;

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
  clinic = await createClinic(catalog.client);
});

afterAll(async () => {
  await catalog?.close();
});

/** Calls CreateDoctor; asserts `code` with `details`, and that nothing was written. */
const expectDoctorRefused = (doctor: Doctor | undefined, code: status, details: { reason: string; field?: string }) =>
  expectRefused(catalog, () => catalog.client.createDoctor({ doctor }), code, details);

const doctorOf = (fields: Partial<Doctor>) =>
  Doctor.fromPartial({ clinicId: clinic.id, displayName: 'Dr. Weiß', specialty: 'Cardiology', ...fields });

describe('CreateDoctor', () => {
  it('creates a doctor at the clinic, with the specialty in lower case', async () => {
    const doctor = await createDoctor(catalog.client, clinic.id, {
      id: randomUUID(), // ignored
      displayName: ' Dr. Weiß ',
      specialty: '  Cardiology ',
    });
    expect(doctor).toMatchObject({ clinicId: clinic.id, displayName: 'Dr. Weiß', specialty: 'cardiology' });
    expect(doctor.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(doctor.createTime).toBeInstanceOf(Date);
    const { rows } = await catalog.sql.query('SELECT clinic_id::text, display_name, specialty FROM doctor WHERE id = $1', [doctor.id]);
    expect(rows).toEqual([{ clinic_id: clinic.id, display_name: 'Dr. Weiß', specialty: 'cardiology' }]);
  });

  it('refuses a request without a doctor', async () => {
    await expectDoctorRefused(undefined, status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field: 'doctor' });
  });

  it.each([
    ['a missing clinic id', { clinicId: '' }, 'doctor.clinic_id'],
    ['a malformed clinic id', { clinicId: 'clinic-1' }, 'doctor.clinic_id'],
    ['a missing display name', { displayName: ' ' }, 'doctor.display_name'],
    ['a missing specialty', { specialty: '' }, 'doctor.specialty'],
    ['a specialty over 100 characters', { specialty: 'x'.repeat(101) }, 'doctor.specialty'],
  ])('refuses %s', async (_, fields, field) => {
    await expectDoctorRefused(doctorOf(fields), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field });
  });

  it('answers NOT_FOUND for an unknown clinic, naming it', async () => {
    const clinicId = randomUUID();
    const err = await expectDoctorRefused(doctorOf({ clinicId }), status.NOT_FOUND, { reason: 'CLINIC_NOT_FOUND' });
    expect(err.errorInfo?.metadata).toEqual({ clinic_id: clinicId });
  });
});

describe('GetDoctor', () => {
  it('returns the doctor as created', async () => {
    const created = await createDoctor(catalog.client, clinic.id, { displayName: 'Dr. Get' });
    expect((await catalog.client.getDoctor({ id: created.id })).doctor).toEqual(created);
  });

  it('answers NOT_FOUND for an unknown id, naming it', async () => {
    const id = randomUUID();
    const err = await expectRefused(catalog, () => catalog.client.getDoctor({ id }), status.NOT_FOUND, { reason: 'DOCTOR_NOT_FOUND' });
    expect(err.errorInfo?.metadata).toEqual({ doctor_id: id });
  });

  it('answers NOT_FOUND for the id of a clinic', async () => {
    await expectRefused(catalog, () => catalog.client.getDoctor({ id: clinic.id }), status.NOT_FOUND, { reason: 'DOCTOR_NOT_FOUND' });
  });

  it.each([
    ['a missing id', ''],
    ['a malformed id', '1234'],
  ])('refuses %s', async (_, id) => {
    await expectRefused(catalog, () => catalog.client.getDoctor({ id }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field: 'id' });
  });
});

describe('BatchGetDoctors', () => {
  it('returns the doctors in the order asked, a repeated id twice, with the modalities GetDoctor shows', async () => {
    const first = await createDoctor(catalog.client, clinic.id, { displayName: 'Dr. Batch A' });
    const second = await createDoctor(catalog.client, clinic.id, { displayName: 'Dr. Batch B' });
    const { doctors } = await catalog.client.batchGetDoctors({ ids: [second.id, first.id, second.id.toUpperCase()] });
    expect(doctors).toEqual([second, first, second]);
    expect(doctors[1]).toEqual((await catalog.client.getDoctor({ id: first.id })).doctor);
  });

  it('answers NOT_FOUND naming the first unknown id, and none of the others', async () => {
    const known = await createDoctor(catalog.client, clinic.id, { displayName: 'Dr. Batch C' });
    const unknown = randomUUID();
    const err = await expectRefused(catalog, () => catalog.client.batchGetDoctors({ ids: [known.id, unknown, randomUUID()] }), status.NOT_FOUND, { reason: 'DOCTOR_NOT_FOUND' });
    expect(err.errorInfo?.metadata).toEqual({ doctor_id: unknown });
  });

  it.each([
    ['no id', [], 'ids'],
    ['101 ids', Array.from({ length: 101 }, () => randomUUID()), 'ids'],
    ['a malformed id among good ones', [randomUUID(), 'x'.repeat(5000), 'also bad'], 'ids[1]'],
  ])('refuses %s, naming the field', async (_, ids, field) => {
    const err = await expectRefused(catalog, () => catalog.client.batchGetDoctors({ ids }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field });
    // Only the first bad id is named, and only a prefix of it is quoted.
    expect(err.badRequest?.fieldViolations).toHaveLength(1);
    expect(JSON.stringify(err.badRequest)).not.toContain('x'.repeat(100));
  });
});

describe('ListDoctors', () => {
  let north: Clinic;
  let south: Clinic;
  const listed: Doctor[] = [];

  beforeAll(async () => {
    north = await createClinic(catalog.client, { displayName: 'North' });
    south = await createClinic(catalog.client, { displayName: 'South' });
    const plan: [Clinic, string][] = [
      [north, 'Cardiology'],
      [north, 'dermatology'],
      [south, 'CARDIOLOGY'],
      [north, 'cardiology'],
      [south, 'Dermatology'],
      [south, 'cardiology'],
    ];
    for (const [i, [at, specialty]] of plan.entries()) {
      listed.push(await createDoctor(catalog.client, at.id, { displayName: `Dr. List ${i}`, specialty }));
    }
  });

  const list = (fields: { clinicId?: string; specialty?: string; pageSize?: number; pageToken?: string }) =>
    catalog.client.listDoctors({ clinicId: '', specialty: '', pageSize: 0, pageToken: '', ...fields });

  const walk = (fields: { clinicId?: string; specialty?: string }, pageSize: number) =>
    walkPages(async (pageToken) => {
      const page = await list({ ...fields, pageSize, pageToken });
      expect(page.doctors.length).toBeLessThanOrEqual(pageSize);
      return { items: page.doctors, nextPageToken: page.nextPageToken };
    });

  it('lists every doctor in creation order', async () => {
    const { rows } = await catalog.sql.query<{ id: string }>('SELECT id::text FROM doctor ORDER BY create_time, id');
    const page = await list({});
    expect(page.doctors.map((d) => d.id)).toEqual(rows.map((r) => r.id));
    expect(page.nextPageToken).toBe('');
  });

  it('filters by clinic', async () => {
    const page = await list({ clinicId: south.id });
    expect(page.doctors.map((d) => d.id)).toEqual(listed.filter((d) => d.clinicId === south.id).map((d) => d.id));
  });

  it('filters by specialty case-insensitively', async () => {
    const page = await list({ clinicId: north.id, specialty: ' CardioLOGY ' });
    expect(page.doctors.map((d) => d.id)).toEqual([listed[0].id, listed[3].id]);
  });

  it('combines the filters', async () => {
    const page = await list({ clinicId: south.id, specialty: 'dermatology' });
    expect(page.doctors.map((d) => d.id)).toEqual([listed[4].id]);
  });

  it('returns an empty page for a clinic without doctors', async () => {
    const empty = await createClinic(catalog.client);
    expect(await list({ clinicId: empty.id })).toEqual({ doctors: [], nextPageToken: '' });
  });

  it.each([1, 2, 4])('walks filtered pages of size %i without duplicates or gaps', async (pageSize) => {
    const walked = await walk({ specialty: 'cardiology' }, pageSize);
    const { rows } = await catalog.sql.query<{ id: string }>(
      `SELECT id::text FROM doctor WHERE specialty = 'cardiology' ORDER BY create_time, id`,
    );
    const expected = rows.map((r) => r.id);
    expect(expected).toEqual(expect.arrayContaining(listed.filter((d) => d.specialty === 'cardiology').map((d) => d.id)));
    expect(walked.items.map((d) => d.id)).toEqual(expected);
    expect(walked.pages).toBe(Math.ceil(expected.length / pageSize));
  });

  it('refuses a page token used with other filters', async () => {
    const first = await list({ specialty: 'cardiology', pageSize: 1 });
    expect(first.nextPageToken).not.toBe('');
    await expectRefused(catalog, () => list({ specialty: 'dermatology', pageSize: 1, pageToken: first.nextPageToken }), status.INVALID_ARGUMENT, {
      reason: 'INVALID_ARGUMENT',
      field: 'page_token',
    });
    await expectRefused(catalog, () => list({ clinicId: north.id, specialty: 'cardiology', pageSize: 1, pageToken: first.nextPageToken }), status.INVALID_ARGUMENT, {
      field: 'page_token',
    });
  });

  it('refuses a page token issued by ListClinics', async () => {
    const clinics = await catalog.client.listClinics({ pageSize: 1, pageToken: '' });
    expect(clinics.nextPageToken).not.toBe('');
    await expectRefused(catalog, () => list({ pageSize: 1, pageToken: clinics.nextPageToken }), status.INVALID_ARGUMENT, { field: 'page_token' });
  });

  it('refuses a garbage page token', async () => {
    await expectRefused(catalog, () => list({ pageToken: '%%%' }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field: 'page_token' });
  });

  it.each([-5, 501])('refuses page_size %i', async (pageSize) => {
    await expectRefused(catalog, () => list({ pageSize }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field: 'page_size' });
  });

  it('refuses a malformed clinic filter', async () => {
    await expectRefused(catalog, () => list({ clinicId: 'north' }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field: 'clinic_id' });
  });
});
