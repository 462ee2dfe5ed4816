import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clinic, Doctor, SearchSlotsRequest, Slot, TimeOfDay } from '@carebook/proto/catalog';
import { createClinic, createDoctor, inSearchOrder, searchRequest, startCatalogUnderTest, walkPages, type CatalogUnderTest } from './harness';
import { ids, localTime, publishSlots } from './search-fixtures';

// SearchSlots within a local time-of-day window: each slot is judged on its
// clinic's wall clock (or the request's time zone), across zones and on both
// sides of the daylight saving changes of March 2030 (New York on the 10th,
// Berlin on the 31st). The expected results come from ICU's time zone rules
// (Intl), not from PostgreSQL's.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const from = new Date('2030-03-05T00:00:00Z');
const to = new Date(+from + 31 * DAY);

let catalog: CatalogUnderTest;
let berlin: Clinic;
let newYork: Clinic;
let doctors: Record<'cardioBerlin' | 'dermaBerlin' | 'cardioNewYork', Doctor>;
/** Every slot, in search order. */
let all: Slot[];

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
  berlin = await createClinic(catalog.client, { displayName: 'Berlin', timeZone: 'Europe/Berlin', location: { latitude: 52.52, longitude: 13.405 } });
  newYork = await createClinic(catalog.client, { displayName: 'New York', timeZone: 'America/New_York', location: { latitude: 40.71, longitude: -74.0 } });
  doctors = {
    cardioBerlin: await createDoctor(catalog.client, berlin.id, { specialty: 'cardiology' }),
    dermaBerlin: await createDoctor(catalog.client, berlin.id, { specialty: 'dermatology' }),
    cardioNewYork: await createDoctor(catalog.client, newYork.id, { specialty: 'cardiology' }),
  };
  // Every day of the window, a slot at each whole UTC hour from 04:00 to 15:00.
  const starts = Array.from({ length: 31 }, (_, day) => Array.from({ length: 12 }, (_, h) => new Date(+from + day * DAY + (4 + h) * HOUR))).flat();
  all = [];
  for (const doctor of Object.values(doctors)) all.push(...(await publishSlots(catalog.client, doctor.id, starts)));
  all = inSearchOrder(all);
});

afterAll(async () => {
  await catalog?.close();
});

const time = (hours: number, minutes = 0): TimeOfDay => ({ hours, minutes, seconds: 0, nanos: 0 });
const zoneOf = (slot: Slot) => (slot.clinicId === berlin.id ? 'Europe/Berlin' : 'America/New_York');
const hhmm = (t: TimeOfDay | undefined, fallback: string) => (t ? `${String(t.hours).padStart(2, '0')}:${String(t.minutes).padStart(2, '0')}` : fallback);

/** What the window should let through, by ICU's clock. */
function expected(fields: Partial<SearchSlotsRequest>, subset: Slot[] = all): string[] {
  const lo = hhmm(fields.localTimeFrom, '00:00');
  const hi = hhmm(fields.localTimeTo, '24:00');
  return ids(
    subset.filter((s) => {
      const local = localTime(s.startTime!, fields.timeZone || zoneOf(s));
      return local >= lo && local < hi;
    }),
  );
}

/** Every slot the search returns, following pages of `pageSize`. */
async function searchAll(fields: Partial<SearchSlotsRequest>, pageSize = 500): Promise<Slot[]> {
  const walked = await walkPages(async (pageToken) => {
    const page = await catalog.client.searchSlots(searchRequest({ startTimeFrom: from, startTimeTo: to, ...fields, pageSize, pageToken }));
    return { items: page.slots, nextPageToken: page.nextPageToken };
  });
  return walked.items;
}

describe('SearchSlots within a local time-of-day window', () => {
  it.each([
    ['mornings, 08:00 to 12:00', { localTimeFrom: time(8), localTimeTo: time(12) }],
    ['until 09:00', { localTimeTo: time(9) }],
    ['from 13:30', { localTimeFrom: time(13, 30) }],
    ['from 09:00 to 24:00', { localTimeFrom: time(9), localTimeTo: time(24) }],
    ['all day, 00:00 to 24:00', { localTimeFrom: time(0), localTimeTo: time(24) }],
  ])('%s, on each clinic’s wall clock', async (_, fields) => {
    const found = await searchAll(fields);
    expect(ids(found)).toEqual(expected(fields));
    expect(found.length).toBeGreaterThan(0);
  });

  it('follows each zone across its daylight saving change', async () => {
    const morning = { localTimeFrom: time(8), localTimeTo: time(12) };
    const found = new Set(ids(await searchAll(morning)));
    const slotAt = (doctor: Doctor, iso: string) => all.find((s) => s.doctorId === doctor.id && +s.startTime! === +new Date(iso))!.id;
    // Berlin: 06:00 UTC is 07:00 CET before the 31st, 08:00 CEST after.
    expect(found.has(slotAt(doctors.cardioBerlin, '2030-03-30T06:00:00Z'))).toBe(false);
    expect(found.has(slotAt(doctors.cardioBerlin, '2030-03-31T06:00:00Z'))).toBe(true);
    // Berlin: 11:00 UTC is 12:00 CET (excluded: the window is half-open), 13:00 CEST.
    expect(found.has(slotAt(doctors.cardioBerlin, '2030-03-30T10:00:00Z'))).toBe(true);
    expect(found.has(slotAt(doctors.cardioBerlin, '2030-03-30T11:00:00Z'))).toBe(false);
    expect(found.has(slotAt(doctors.cardioBerlin, '2030-03-31T10:00:00Z'))).toBe(false);
    // New York: 12:00 UTC is 07:00 EST before the 10th, 08:00 EDT after.
    expect(found.has(slotAt(doctors.cardioNewYork, '2030-03-09T12:00:00Z'))).toBe(false);
    expect(found.has(slotAt(doctors.cardioNewYork, '2030-03-10T12:00:00Z'))).toBe(true);
    // The same instant is a morning in one clinic and not in the other.
    expect(found.has(slotAt(doctors.cardioBerlin, '2030-03-20T09:00:00Z'))).toBe(true);
    expect(found.has(slotAt(doctors.cardioNewYork, '2030-03-20T09:00:00Z'))).toBe(false);
  });

  it('uses the request’s time_zone instead of the clinics’ when given', async () => {
    const fields = { localTimeFrom: time(17), localTimeTo: time(18), timeZone: 'asia/tokyo' };
    const found = await searchAll(fields);
    expect(ids(found)).toEqual(expected({ ...fields, timeZone: 'Asia/Tokyo' }));
    // 17:00 in Tokyo (UTC+9, no daylight saving) is 08:00 UTC, in every clinic.
    expect(found.every((s) => s.startTime!.getUTCHours() === 8)).toBe(true);
    expect(found).toHaveLength(31 * 3);
  });

  it.each([
    ['specialty', () => ({ specialty: 'cardiology' }), (s: Slot) => s.doctorId !== doctors.dermaBerlin.id],
    ['clinic', () => ({ clinicId: berlin.id }), (s: Slot) => s.clinicId === berlin.id],
    ['doctor', () => ({ doctorId: doctors.cardioNewYork.id }), (s: Slot) => s.doctorId === doctors.cardioNewYork.id],
    ['near', () => ({ near: { latitude: 52.5, longitude: 13.4 }, radiusKm: 50 }), (s: Slot) => s.clinicId === berlin.id],
    [
      'near and specialty',
      () => ({ near: { latitude: 52.5, longitude: 13.4 }, radiusKm: 50, specialty: 'dermatology' }),
      (s: Slot) => s.doctorId === doctors.dermaBerlin.id,
    ],
  ])('combines with %s, across pages', async (_, filters, keep) => {
    const fields = { ...filters(), localTimeFrom: time(8), localTimeTo: time(12) };
    const want = expected(fields, all.filter(keep));
    expect(want.length).toBeGreaterThan(20);
    expect(ids(await searchAll(fields, 500))).toEqual(want);
    expect(ids(await searchAll(fields, 7))).toEqual(want);
  });

  it('binds a page token to the window', async () => {
    const first = await catalog.client.searchSlots(
      searchRequest({ startTimeFrom: from, startTimeTo: to, localTimeFrom: time(8), localTimeTo: time(12), pageSize: 2 }),
    );
    const other = searchRequest({ startTimeFrom: from, startTimeTo: to, localTimeFrom: time(8), localTimeTo: time(13), pageSize: 2, pageToken: first.nextPageToken });
    await expect(catalog.client.searchSlots(other)).rejects.toThrow(/page_token/);
  });
});
