import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clinic } from '@carebook/proto/catalog';
import { createClinic, createDoctor, expectRefused, startCatalogUnderTest, walkPages, type CatalogUnderTest } from './harness';

let catalog: CatalogUnderTest;

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
});

afterAll(async () => {
  await catalog?.close();
});

/** Calls CreateClinic with `fields`; asserts INVALID_ARGUMENT naming `field`, and that nothing was written. */
function expectClinicRefused(fields: Partial<Clinic> | undefined, field: string) {
  const clinic =
    fields && Clinic.fromPartial({ displayName: 'Praxis Nord', timeZone: 'Europe/Berlin', address: 'Nordstr. 2', ...fields });
  return expectRefused(catalog, () => catalog.client.createClinic({ clinic }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field });
}

describe('CreateClinic', () => {
  it('creates a clinic with a server-assigned id and times, and stores it', async () => {
    const clinic = await createClinic(catalog.client, {
      id: randomUUID(), // ignored
      displayName: '  Praxis am Markt  ',
      timeZone: 'europe/berlin',
      address: 'Markt 1, Berlin',
    });
    expect(clinic.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(clinic).toMatchObject({ displayName: 'Praxis am Markt', timeZone: 'Europe/Berlin', address: 'Markt 1, Berlin' });
    expect(clinic.createTime).toBeInstanceOf(Date);
    expect(clinic.updateTime).toBeInstanceOf(Date);
    const { rows } = await catalog.sql.query('SELECT display_name, time_zone, address FROM clinic WHERE id = $1', [clinic.id]);
    expect(rows).toEqual([{ display_name: 'Praxis am Markt', time_zone: 'Europe/Berlin', address: 'Markt 1, Berlin' }]);
  });

  it('refuses a request without a clinic', async () => {
    await expectClinicRefused(undefined, 'clinic');
  });

  it('refuses a missing display name', async () => {
    await expectClinicRefused({ displayName: '   ' }, 'clinic.display_name');
  });

  it('refuses a missing address', async () => {
    await expectClinicRefused({ address: '' }, 'clinic.address');
  });

  it('refuses a missing time zone', async () => {
    await expectClinicRefused({ timeZone: '' }, 'clinic.time_zone');
  });

  it.each(['Mars/Olympus_Mons', 'Europe/Berlin; DROP TABLE clinic', '+02:00'])('refuses the unknown time zone %j', async (timeZone) => {
    await expectClinicRefused({ timeZone }, 'clinic.time_zone');
  });

  it('names every bad field in one error', async () => {
    const err = await expectClinicRefused({ displayName: '', address: '', timeZone: 'Nowhere/Land' }, 'clinic.display_name');
    expect(err.badRequest?.fieldViolations.map((v) => v.field).sort()).toEqual([
      'clinic.address',
      'clinic.display_name',
      'clinic.time_zone',
    ]);
  });
});

describe('GetClinic', () => {
  it('returns the clinic as created', async () => {
    const created = await createClinic(catalog.client, { displayName: 'Praxis Süd' });
    const { clinic } = await catalog.client.getClinic({ id: created.id });
    expect(clinic).toEqual(created);
  });

  it('accepts the id in upper case', async () => {
    const created = await createClinic(catalog.client);
    const { clinic } = await catalog.client.getClinic({ id: created.id.toUpperCase() });
    expect(clinic?.id).toBe(created.id);
  });

  it('answers NOT_FOUND for an unknown id, naming it', async () => {
    const id = randomUUID();
    const err = await expectRefused(catalog, () => catalog.client.getClinic({ id }), status.NOT_FOUND, { reason: 'CLINIC_NOT_FOUND' });
    expect(err.errorInfo?.metadata).toEqual({ clinic_id: id });
    expect(err.errorInfo?.domain).toBe('catalog.carebook.dev');
  });

  it.each([
    ['a missing id', ''],
    ['a malformed id', 'not-a-uuid'],
    ['an id with trailing junk', `${randomUUID()}x`],
  ])('refuses %s', async (_, id) => {
    await expectRefused(catalog, () => catalog.client.getClinic({ id }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field: 'id' });
  });
});

describe('ListClinics', () => {
  let all: Clinic[];

  beforeAll(async () => {
    for (let i = 0; i < 7; i++) await createClinic(catalog.client, { displayName: `Listed clinic ${i}` });
    const { rows } = await catalog.sql.query<{ id: string }>('SELECT id::text FROM clinic ORDER BY create_time, id');
    all = (await catalog.client.listClinics({ pageSize: 500, pageToken: '' })).clinics;
    expect(all.map((c) => c.id)).toEqual(rows.map((r) => r.id));
  });

  it('returns every clinic on one page with the default page size, without a next token', async () => {
    const page = await catalog.client.listClinics({ pageSize: 0, pageToken: '' });
    expect(page.clinics).toEqual(all);
    expect(page.nextPageToken).toBe('');
  });

  it.each([1, 2, 3])('walks every page of size %i without duplicates or gaps', async (pageSize) => {
    const walked = await walkPages(async (pageToken) => {
      const page = await catalog.client.listClinics({ pageSize, pageToken });
      expect(page.clinics.length).toBeLessThanOrEqual(pageSize);
      return { items: page.clinics, nextPageToken: page.nextPageToken };
    });
    expect(walked.items.map((c) => c.id)).toEqual(all.map((c) => c.id));
    expect(walked.pages).toBe(Math.ceil(all.length / pageSize));
  });

  it('keeps its place when clinics are created between pages', async () => {
    const first = await catalog.client.listClinics({ pageSize: 2, pageToken: '' });
    const added = await createClinic(catalog.client, { displayName: 'Late clinic' });
    const rest = await walkPages(async (pageToken) => {
      const page = await catalog.client.listClinics({ pageSize: 2, pageToken: pageToken || first.nextPageToken });
      return { items: page.clinics, nextPageToken: page.nextPageToken };
    });
    expect([...first.clinics, ...rest.items].map((c) => c.id)).toEqual([...all.map((c) => c.id), added.id]);
  });

  it.each([-1, 501, 100_000])('refuses page_size %i', async (pageSize) => {
    await expectRefused(catalog, () => catalog.client.listClinics({ pageSize, pageToken: '' }), status.INVALID_ARGUMENT, {
      reason: 'INVALID_ARGUMENT',
      field: 'page_size',
    });
  });

  it('accepts page_size 500', async () => {
    const page = await catalog.client.listClinics({ pageSize: 500, pageToken: '' });
    expect(page.clinics.length).toBeGreaterThanOrEqual(all.length);
  });

  it.each([
    ['garbage', 'definitely not a token'],
    ['base64 of non-JSON', Buffer.from('hello').toString('base64url')],
    ['a token with a forged key', Buffer.from(JSON.stringify({ k: 'x', f: 'y' })).toString('base64url')],
  ])('refuses a page token that is %s', async (_, pageToken) => {
    await expectRefused(catalog, () => catalog.client.listClinics({ pageSize: 2, pageToken }), status.INVALID_ARGUMENT, {
      reason: 'INVALID_ARGUMENT',
      field: 'page_token',
    });
  });

  it.each([
    ['filtered by clinic', true],
    ['unfiltered', false],
  ])('refuses a page token issued by ListDoctors %s', async (_, byClinic) => {
    const clinic = await createClinic(catalog.client);
    await createDoctor(catalog.client, clinic.id, { displayName: 'Dr. A' });
    await createDoctor(catalog.client, clinic.id, { displayName: 'Dr. B' });
    const doctors = await catalog.client.listDoctors({ clinicId: byClinic ? clinic.id : '', specialty: '', pageSize: 1, pageToken: '' });
    expect(doctors.nextPageToken).not.toBe('');
    await expectRefused(catalog, () => catalog.client.listClinics({ pageSize: 1, pageToken: doctors.nextPageToken }), status.INVALID_ARGUMENT, {
      field: 'page_token',
    });
  });
});
