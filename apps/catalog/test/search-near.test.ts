import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clinic, Doctor, SearchSlotsRequest, Slot } from '@carebook/proto/catalog';
import { createClinic, createDoctor, hoursFromNow, inSearchOrder, searchRequest, startCatalogUnderTest, walkPages, withNames, type CatalogUnderTest } from './harness';
import { destination, ids, publishSlots, type Point } from './search-fixtures';

// SearchSlots near a point: clinics by great-circle distance, with the other
// filters and across pages.

const HOUR = 3_600_000;
const MITTE: Point = { latitude: 52.52, longitude: 13.405 };

let catalog: CatalogUnderTest;
const clinics: Record<string, Clinic> = {};
const doctors: Record<string, Doctor> = {};
/** Every published slot with the names search shows, in search order. */
let all: Slot[];
const base = hoursFromNow(24);
const window = { startTimeFrom: base, startTimeTo: new Date(+base + 24 * HOUR) };

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
  const place = async (key: string, location: Point | undefined, timeZone = 'Europe/Berlin') => {
    clinics[key] = await createClinic(catalog.client, { displayName: `Clinic ${key}`, timeZone, location });
  };
  await place('mitte', MITTE);
  await place('north5', destination(MITTE, 5, 0));
  await place('east9', destination(MITTE, 9.99, 90));
  await place('south11', destination(MITTE, 10.01, 180));
  await place('nowhere', undefined);
  await place('munich', { latitude: 48.137, longitude: 11.575 });

  const hire = async (key: string, clinic: string, specialty: string) => {
    doctors[key] = await createDoctor(catalog.client, clinics[clinic].id, { displayName: `Dr. ${key}`, specialty });
  };
  await hire('cardioMitte', 'mitte', 'cardiology');
  await hire('dermaMitte', 'mitte', 'dermatology');
  await hire('cardioNorth', 'north5', 'Cardiology');
  await hire('dermaEast', 'east9', 'dermatology');
  await hire('cardioEast', 'east9', 'cardiology');
  await hire('cardioSouth', 'south11', 'cardiology');
  await hire('cardioNowhere', 'nowhere', 'cardiology');
  await hire('cardioMunich', 'munich', 'cardiology');

  // Every doctor has slots at the same instants, so ties in start_time are the rule.
  all = [];
  for (const doctor of Object.values(doctors)) {
    const slots = await publishSlots(catalog.client, doctor.id, [0, 1, 2, 3].map((h) => new Date(+base + h * HOUR)));
    const clinic = Object.values(clinics).find((c) => c.id === doctor.clinicId)!;
    all.push(...slots.map((s) => withNames(s, doctor, clinic)));
  }
  all = inSearchOrder(all);
});

afterAll(async () => {
  await catalog?.close();
});

const search = (fields: Partial<SearchSlotsRequest>) => catalog.client.searchSlots(searchRequest({ ...window, pageSize: 500, ...fields }));
const slotsAt = (...keys: string[]) => all.filter((s) => keys.some((k) => clinics[k].id === s.clinicId));
const slotsOf = (...keys: string[]) => all.filter((s) => keys.some((k) => doctors[k].id === s.doctorId));

describe('Clinic location', () => {
  it('is returned as given, and absent for a clinic created without one', async () => {
    const { clinic } = await catalog.client.getClinic({ id: clinics.east9.id });
    expect(clinic!.location).toEqual(destination(MITTE, 9.99, 90));
    expect((await catalog.client.getClinic({ id: clinics.nowhere.id })).clinic!.location).toBeUndefined();
    const { rows } = await catalog.sql.query('SELECT latitude, longitude FROM clinic WHERE id = $1', [clinics.nowhere.id]);
    expect(rows).toEqual([{ latitude: null, longitude: null }]);
  });
});

describe('SearchSlots near a point', () => {
  it('returns the slots of clinics within the radius, with names and time zone', async () => {
    const { slots, nextPageToken } = await search({ near: MITTE, radiusKm: 10 });
    expect(slots).toEqual(slotsAt('mitte', 'north5', 'east9'));
    expect(nextPageToken).toBe('');
    expect(slots[0]).toMatchObject({ clinicTimeZone: 'Europe/Berlin', clinicDisplayName: expect.stringMatching(/^Clinic /) });
    expect(slots.every((s) => s.doctorDisplayName.startsWith('Dr. ') && s.specialty !== '')).toBe(true);
  });

  it('means 10 km when radius_km is 0', async () => {
    expect(await search({ near: MITTE })).toEqual(await search({ near: MITTE, radiusKm: 10 }));
  });

  it('decides by the exact great-circle distance at the boundary', async () => {
    expect(ids((await search({ near: MITTE, radiusKm: 9.98 })).slots)).toEqual(ids(slotsAt('mitte', 'north5')));
    expect(ids((await search({ near: MITTE, radiusKm: 10 })).slots)).toEqual(ids(slotsAt('mitte', 'north5', 'east9')));
    expect(ids((await search({ near: MITTE, radiusKm: 10.02 })).slots)).toEqual(ids(slotsAt('mitte', 'north5', 'east9', 'south11')));
  });

  it('never matches a clinic without a location, however wide the circle', async () => {
    const { slots } = await search({ near: MITTE, radiusKm: 200 });
    expect(slots).toEqual(slotsAt('mitte', 'north5', 'east9', 'south11'));
    const munich = await search({ near: { latitude: 48.137, longitude: 11.575 }, radiusKm: 1 });
    expect(munich.slots).toEqual(slotsAt('munich'));
  });

  it('finds nothing where there is no clinic', async () => {
    expect(await search({ near: { latitude: 0, longitude: 0 }, radiusKm: 200 })).toEqual({ slots: [], nextPageToken: '' });
  });

  it('combines with specialty', async () => {
    const { slots } = await search({ near: MITTE, radiusKm: 10, specialty: 'CARDIOLOGY' });
    expect(slots).toEqual(slotsOf('cardioMitte', 'cardioNorth', 'cardioEast'));
    expect((await search({ near: MITTE, radiusKm: 10, specialty: 'neurology' })).slots).toEqual([]);
  });

  it('combines with clinic_id: the clinic, if it is within the radius', async () => {
    expect((await search({ near: MITTE, radiusKm: 10, clinicId: clinics.east9.id })).slots).toEqual(slotsAt('east9'));
    expect((await search({ near: MITTE, radiusKm: 10, clinicId: clinics.south11.id })).slots).toEqual([]);
    const both = await search({ near: MITTE, radiusKm: 10, clinicId: clinics.east9.id, specialty: 'dermatology' });
    expect(both.slots).toEqual(slotsOf('dermaEast'));
  });

  it('combines with doctor_id', async () => {
    expect((await search({ near: MITTE, radiusKm: 10, doctorId: doctors.cardioNorth.id })).slots).toEqual(slotsOf('cardioNorth'));
    expect((await search({ near: MITTE, radiusKm: 10, doctorId: doctors.cardioSouth.id })).slots).toEqual([]);
  });

  it.each([
    ['near', {}],
    ['near and specialty', { specialty: 'cardiology' }],
    ['near and clinic', { clinic: 'mitte' }],
  ])('walks pages of %s without duplicates or gaps', async (_, extra: { specialty?: string; clinic?: string }) => {
    const fields = {
      near: MITTE,
      radiusKm: 10,
      ...(extra.specialty && { specialty: extra.specialty }),
      ...(extra.clinic && { clinicId: clinics[extra.clinic].id }),
    };
    const expected = (await search(fields)).slots;
    expect(expected.length).toBeGreaterThan(3);
    for (const pageSize of [1, 2, 3, 5]) {
      const walked = await walkPages(async (pageToken) => {
        const page = await search({ ...fields, pageSize, pageToken });
        return { items: page.slots, nextPageToken: page.nextPageToken };
      });
      expect(ids(walked.items)).toEqual(ids(expected));
      expect(walked.pages).toBe(Math.ceil(expected.length / pageSize));
    }
  });

  it('binds a page token to the circle', async () => {
    const { nextPageToken } = await search({ near: MITTE, radiusKm: 10, pageSize: 2 });
    await expect(search({ near: MITTE, radiusKm: 11, pageSize: 2, pageToken: nextPageToken })).rejects.toThrow(/page_token/);
  });
});

describe('SearchSlots near the antimeridian and the poles', () => {
  let fiji: Clinic;
  let pole: Clinic;
  beforeAll(async () => {
    fiji = await createClinic(catalog.client, { displayName: 'West of the line', timeZone: 'UTC', location: { latitude: -16.5, longitude: -179.95 } });
    pole = await createClinic(catalog.client, { displayName: 'Polar station', timeZone: 'UTC', location: { latitude: 89.95, longitude: 180 } });
    for (const clinic of [fiji, pole]) {
      const doctor = await createDoctor(catalog.client, clinic.id, { specialty: 'polar medicine' });
      await publishSlots(catalog.client, doctor.id, [new Date(+base + 5 * HOUR)]);
    }
  });

  it('finds a clinic across ±180° longitude', async () => {
    const { slots } = await search({ near: { latitude: -16.5, longitude: 179.95 }, radiusKm: 15 });
    expect(slots.map((s) => s.clinicId)).toEqual([fiji.id]);
    expect((await search({ near: { latitude: -16.5, longitude: 179.95 }, radiusKm: 5 })).slots).toEqual([]);
  });

  it('finds a clinic on the other side of a pole', async () => {
    // 0.05° to the pole and 0.05° down the other side: about 11.1 km.
    const { slots } = await search({ near: { latitude: 89.95, longitude: 0 }, radiusKm: 12 });
    expect(slots.map((s) => s.clinicId)).toEqual([pole.id]);
    expect((await search({ near: { latitude: 89.95, longitude: 0 }, radiusKm: 10 })).slots).toEqual([]);
  });
});
