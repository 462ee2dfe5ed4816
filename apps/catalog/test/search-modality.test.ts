// SearchSlots and FindNextAvailable by modality: unset finds both, IN_PERSON
// and VIDEO one each. Video slots have no place: a search near a point finds
// in-person slots only, a video search needs no place, and VIDEO with near is
// refused.

import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FindNextAvailableRequest, Modality, type Clinic, type Doctor, type SearchSlotsRequest, type Slot } from '@carebook/proto/catalog';
import {
  createClinic,
  createDoctor,
  expectRefused,
  hoursFromNow,
  inSearchOrder,
  searchRequest,
  startCatalogUnderTest,
  walkPages,
  withNames,
  type CatalogUnderTest,
} from './harness';
import { destination, ids, type Point } from './search-fixtures';

const HOUR = 3_600_000;
const MITTE: Point = { latitude: 52.52, longitude: 13.405 };
const { IN_PERSON, VIDEO, UNSPECIFIED } = {
  IN_PERSON: Modality.MODALITY_IN_PERSON,
  VIDEO: Modality.MODALITY_VIDEO,
  UNSPECIFIED: Modality.MODALITY_UNSPECIFIED,
};

let catalog: CatalogUnderTest;
let clinics: Record<'mitte' | 'north' | 'munich' | 'nowhere', Clinic>;
let doctors: Record<'cardioMitte' | 'dermaMitte' | 'mixedNorth' | 'videoMunich' | 'videoNowhere', Doctor>;
/** Every published slot with the names search shows, in search order. */
let all: Slot[];
const base = hoursFromNow(24);
const at = (hours: number) => new Date(+base + hours * HOUR);
const window = { startTimeFrom: base, startTimeTo: at(24) };

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
  clinics = {
    mitte: await createClinic(catalog.client, { displayName: 'Mitte', location: MITTE }),
    north: await createClinic(catalog.client, { displayName: 'North', location: destination(MITTE, 5, 0) }),
    munich: await createClinic(catalog.client, { displayName: 'Munich', location: { latitude: 48.137, longitude: 11.575 } }),
    nowhere: await createClinic(catalog.client, { displayName: 'Nowhere' }),
  };
  const hire = (clinic: Clinic, displayName: string, specialty: string) => createDoctor(catalog.client, clinic.id, { displayName, specialty });
  doctors = {
    cardioMitte: await hire(clinics.mitte, 'Dr. A', 'cardiology'),
    dermaMitte: await hire(clinics.mitte, 'Dr. B', 'dermatology'),
    mixedNorth: await hire(clinics.north, 'Dr. C', 'cardiology'),
    videoMunich: await hire(clinics.munich, 'Dr. D', 'dermatology'),
    videoNowhere: await hire(clinics.nowhere, 'Dr. E', 'cardiology'),
  };
  all = [];
  const publish = async (key: keyof typeof doctors, hours: number[], modality?: Modality) => {
    const doctor = doctors[key];
    const slots = hours.map((h) => ({ startTime: at(h), endTime: at(h + 0.5) }));
    const created = (await catalog.client.createSlots({ doctorId: doctor.id, slots, modality })).slots;
    const clinic = Object.values(clinics).find((c) => c.id === doctor.clinicId)!;
    all.push(...created.map((s) => withNames(s, doctor, clinic)));
  };
  await publish('cardioMitte', [0, 1, 2]);
  await publish('dermaMitte', [5]);
  await publish('mixedNorth', [3, 4]);
  await publish('mixedNorth', [1, 5], VIDEO);
  await publish('videoMunich', [2, 6], VIDEO);
  await publish('videoNowhere', [0, 7], VIDEO);
  all = inSearchOrder(all);
});

afterAll(async () => {
  await catalog?.close();
});

const search = (fields: Partial<SearchSlotsRequest>) => catalog.client.searchSlots(searchRequest({ ...window, pageSize: 500, ...fields }));
const find = (fields: Partial<FindNextAvailableRequest> = {}) =>
  catalog.client.findNextAvailable({ ...FindNextAvailableRequest.fromPartial({}), after: base, ...fields }).then((r) => r.slots);
const byModality = (modality: Modality) => all.filter((s) => s.modality === modality);
const ofDoctors = (slots: Slot[], ...keys: (keyof typeof doctors)[]) => slots.filter((s) => keys.some((k) => doctors[k].id === s.doctorId));
/** The earliest slot of each doctor among `slots`, earliest first. */
const firstOfEach = (slots: Slot[]) => inSearchOrder([...new Map([...slots].reverse().map((s) => [s.doctorId, s])).values()]);

describe('SearchSlots by modality', () => {
  it('finds both when unset, and one each for IN_PERSON and VIDEO', async () => {
    expect((await search({})).slots).toEqual(all);
    expect((await search({ modality: UNSPECIFIED })).slots).toEqual(all);
    expect((await search({ modality: IN_PERSON })).slots).toEqual(byModality(IN_PERSON));
    expect((await search({ modality: VIDEO })).slots).toEqual(byModality(VIDEO));
    expect(byModality(IN_PERSON)).toHaveLength(6);
    expect(byModality(VIDEO)).toHaveLength(6);
  });

  it('finds video slots without a place, at clinics with a location or none, each shown with its clinic and time zone', async () => {
    const { slots } = await search({ modality: VIDEO });
    expect(new Set(slots.map((s) => s.clinicId))).toEqual(new Set([clinics.north.id, clinics.munich.id, clinics.nowhere.id]));
    expect(slots.every((s) => s.modality === VIDEO && s.clinicTimeZone === 'Europe/Berlin' && s.clinicDisplayName !== '')).toBe(true);
  });

  it('finds in-person slots only near a place, with or without the IN_PERSON filter', async () => {
    const near = { near: MITTE, radiusKm: 10 };
    const expected = ofDoctors(byModality(IN_PERSON), 'cardioMitte', 'dermaMitte', 'mixedNorth');
    expect((await search(near)).slots).toEqual(expected);
    expect((await search({ ...near, modality: IN_PERSON })).slots).toEqual(expected);
    // mixedNorth's video slots are at a clinic inside the circle, and still not found.
    expect(expected.some((s) => s.doctorId === doctors.mixedNorth.id)).toBe(true);
    expect((await search({ ...near, specialty: 'cardiology' })).slots).toEqual(ofDoctors(expected, 'cardioMitte', 'mixedNorth'));
  });

  it('refuses VIDEO near a place, naming near and saying why, and writes nothing', async () => {
    const err = await expectRefused(catalog, () => search({ near: MITTE, radiusKm: 10, modality: VIDEO }), status.INVALID_ARGUMENT, {
      reason: 'INVALID_ARGUMENT',
      field: 'near',
    });
    expect(err.badRequest!.fieldViolations.map((v) => [v.field, v.description])).toEqual([
      ['near', 'must be unset with modality MODALITY_VIDEO: video slots have no place, so a search by distance finds in-person slots only'],
    ]);
  });

  it('combines with the doctor, clinic and specialty filters', async () => {
    expect((await search({ doctorId: doctors.mixedNorth.id, modality: VIDEO })).slots).toEqual(ofDoctors(byModality(VIDEO), 'mixedNorth'));
    expect((await search({ doctorId: doctors.mixedNorth.id, modality: IN_PERSON })).slots).toEqual(ofDoctors(byModality(IN_PERSON), 'mixedNorth'));
    expect((await search({ doctorId: doctors.cardioMitte.id, modality: VIDEO })).slots).toEqual([]);
    expect((await search({ clinicId: clinics.north.id, modality: VIDEO })).slots).toEqual(ofDoctors(byModality(VIDEO), 'mixedNorth'));
    expect((await search({ specialty: 'Cardiology', modality: VIDEO })).slots).toEqual(ofDoctors(byModality(VIDEO), 'mixedNorth', 'videoNowhere'));
    expect((await search({ clinicId: clinics.north.id, specialty: 'cardiology', modality: IN_PERSON })).slots).toEqual(
      ofDoctors(byModality(IN_PERSON), 'mixedNorth'),
    );
  });

  it('pages through the video slots; a page token is bound to the modality', async () => {
    const { items, pages } = await walkPages(async (pageToken) => {
      const page = await search({ modality: VIDEO, pageSize: 1, pageToken });
      return { items: page.slots, nextPageToken: page.nextPageToken };
    });
    expect(ids(items)).toEqual(ids(byModality(VIDEO)));
    expect(pages).toBe(6);
    const { nextPageToken } = await search({ modality: VIDEO, pageSize: 1 });
    await expectRefused(catalog, () => search({ modality: IN_PERSON, pageSize: 1, pageToken: nextPageToken }), status.INVALID_ARGUMENT, {
      field: 'page_token',
    });
  });
});

describe('FindNextAvailable by modality', () => {
  it("returns each doctor's earliest slot of either modality when unset", async () => {
    expect(await find()).toEqual(firstOfEach(all));
    expect((await find()).find((s) => s.doctorId === doctors.mixedNorth.id)!.modality).toBe(VIDEO);
  });

  it("returns each doctor's earliest slot of the modality asked for", async () => {
    expect(await find({ modality: VIDEO })).toEqual(firstOfEach(byModality(VIDEO)));
    expect((await find({ modality: VIDEO })).map((s) => s.doctorId)).toEqual([doctors.videoNowhere.id, doctors.mixedNorth.id, doctors.videoMunich.id]);
    expect(await find({ modality: IN_PERSON })).toEqual(firstOfEach(byModality(IN_PERSON)));
    expect((await find({ modality: IN_PERSON })).find((s) => s.doctorId === doctors.mixedNorth.id)!.startTime).toEqual(at(3));
  });

  it('finds in-person slots only near a place; video ones anywhere, by specialty or clinic', async () => {
    const inPersonNear = firstOfEach(ofDoctors(byModality(IN_PERSON), 'cardioMitte', 'dermaMitte', 'mixedNorth'));
    expect(await find({ near: MITTE, radiusKm: 10 })).toEqual(inPersonNear);
    expect(await find({ near: MITTE, radiusKm: 10, modality: IN_PERSON })).toEqual(inPersonNear);
    expect(await find({ specialty: 'cardiology', modality: VIDEO })).toEqual(firstOfEach(ofDoctors(byModality(VIDEO), 'mixedNorth', 'videoNowhere')));
    expect(await find({ clinicId: clinics.north.id, modality: VIDEO })).toEqual(firstOfEach(ofDoctors(byModality(VIDEO), 'mixedNorth')));
  });

  it('refuses VIDEO near a place, naming near, and writes nothing', async () => {
    await expectRefused(catalog, () => find({ near: MITTE, modality: VIDEO }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field: 'near' });
  });
});
