import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FindNextAvailableRequest, type Clinic, type Doctor, type Slot, type TimeOfDay } from '@carebook/proto/catalog';
import { createClinic, createDoctor, hoursFromNow, searchRequest, startCatalogUnderTest, withNames, type CatalogUnderTest } from './harness';
import { destination, ids, publishSlots, type Point } from './search-fixtures';

// FindNextAvailable: the earliest open slot of each matching doctor, earliest
// first.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MITTE: Point = { latitude: 52.52, longitude: 13.405 };

let catalog: CatalogUnderTest;
let clinics: Record<'mitte' | 'north' | 'munich' | 'nowhere', Clinic>;
let doctors: Record<'cardioMitte' | 'cardioNorth' | 'dermaMitte' | 'cardioMunich' | 'cardioNowhere' | 'neuroMitte', Doctor>;
/** Each doctor's published slots with names, in time order. */
const slotsOf: Record<string, Slot[]> = {};
const base = hoursFromNow(24);
const at = (hours: number) => new Date(+base + hours * HOUR);

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
  clinics = {
    mitte: await createClinic(catalog.client, { displayName: 'Mitte', location: MITTE }),
    north: await createClinic(catalog.client, { displayName: 'North', location: destination(MITTE, 5, 0) }),
    munich: await createClinic(catalog.client, { displayName: 'Munich', location: { latitude: 48.137, longitude: 11.575 } }),
    nowhere: await createClinic(catalog.client, { displayName: 'Nowhere' }),
  };
  doctors = {
    cardioMitte: await createDoctor(catalog.client, clinics.mitte.id, { displayName: 'Dr. A', specialty: 'cardiology' }),
    cardioNorth: await createDoctor(catalog.client, clinics.north.id, { displayName: 'Dr. B', specialty: 'cardiology' }),
    dermaMitte: await createDoctor(catalog.client, clinics.mitte.id, { displayName: 'Dr. C', specialty: 'dermatology' }),
    cardioMunich: await createDoctor(catalog.client, clinics.munich.id, { displayName: 'Dr. D', specialty: 'cardiology' }),
    cardioNowhere: await createDoctor(catalog.client, clinics.nowhere.id, { displayName: 'Dr. E', specialty: 'cardiology' }),
    neuroMitte: await createDoctor(catalog.client, clinics.mitte.id, { displayName: 'Dr. F', specialty: 'neurology' }), // no slots
  };
  const publish = async (key: keyof typeof doctors, hours: number[]) => {
    const doctor = doctors[key];
    const clinic = Object.values(clinics).find((c) => c.id === doctor.clinicId)!;
    slotsOf[key] = (await publishSlots(catalog.client, doctor.id, hours.map(at))).map((s) => withNames(s, doctor, clinic));
  };
  await publish('cardioMitte', [5, 6, 30]);
  await publish('cardioNorth', [3, 4]);
  await publish('dermaMitte', [1, 2]);
  await publish('cardioMunich', [2]);
  await publish('cardioNowhere', [7]);
});

afterAll(async () => {
  await catalog?.close();
});

const find = (fields: Partial<FindNextAvailableRequest> = {}) =>
  catalog.client.findNextAvailable({ ...FindNextAvailableRequest.fromPartial({}), ...fields }).then((r) => r.slots);
const firstOf = (...keys: (keyof typeof doctors)[]) => keys.map((k) => slotsOf[k][0]);

describe('FindNextAvailable', () => {
  it('returns the earliest open slot of each doctor, earliest first, with names', async () => {
    const slots = await find();
    expect(slots).toEqual(firstOf('dermaMitte', 'cardioMunich', 'cardioNorth', 'cardioMitte', 'cardioNowhere'));
    expect(slots[0]).toMatchObject({ doctorDisplayName: 'Dr. C', specialty: 'dermatology', clinicDisplayName: 'Mitte', clinicTimeZone: 'Europe/Berlin' });
  });

  it('honours limit, 20 by default', async () => {
    expect(ids(await find({ limit: 2 }))).toEqual(ids(firstOf('dermaMitte', 'cardioMunich')));
    expect(await find({ limit: 100 })).toHaveLength(5);
  });

  it('filters by specialty, case-insensitively', async () => {
    expect(ids(await find({ specialty: ' Cardiology ' }))).toEqual(ids(firstOf('cardioMunich', 'cardioNorth', 'cardioMitte', 'cardioNowhere')));
    expect(await find({ specialty: 'neurology' })).toEqual([]);
  });

  it('filters by clinic', async () => {
    expect(ids(await find({ clinicId: clinics.mitte.id }))).toEqual(ids(firstOf('dermaMitte', 'cardioMitte')));
    expect(ids(await find({ clinicId: clinics.mitte.id, specialty: 'cardiology' }))).toEqual(ids(firstOf('cardioMitte')));
    expect(await find({ clinicId: randomUUID() })).toEqual([]);
  });

  it('filters by distance; clinics without a location never match', async () => {
    expect(ids(await find({ near: MITTE, radiusKm: 10 }))).toEqual(ids(firstOf('dermaMitte', 'cardioNorth', 'cardioMitte')));
    expect(ids(await find({ near: MITTE, radiusKm: 4.9, specialty: 'cardiology' }))).toEqual(ids(firstOf('cardioMitte')));
    expect(ids(await find({ near: MITTE, radiusKm: 200, specialty: 'cardiology' }))).toEqual(ids(firstOf('cardioNorth', 'cardioMitte')));
    expect(ids(await find({ near: MITTE, radiusKm: 10, clinicId: clinics.north.id }))).toEqual(ids(firstOf('cardioNorth')));
    expect(await find({ near: MITTE, radiusKm: 10, clinicId: clinics.munich.id })).toEqual([]);
  });

  it('starts at `after`', async () => {
    expect(ids(await find({ after: at(2.5) }))).toEqual(ids([slotsOf.cardioNorth[0], slotsOf.cardioMitte[0], slotsOf.cardioNowhere[0]]));
    expect(ids(await find({ after: at(5), specialty: 'cardiology' }))).toEqual(ids([slotsOf.cardioMitte[0], slotsOf.cardioNowhere[0]]));
    expect(ids(await find({ after: at(6.5), clinicId: clinics.mitte.id }))).toEqual(ids([slotsOf.cardioMitte[2]]));
  });

  it('treats a past `after` as now: a slot that has started is not available', async () => {
    // A slot that started an hour ago, still open.
    const { rows } = await catalog.sql.query<{ id: string }>(
      `INSERT INTO slot (doctor_id, clinic_id, start_time, end_time)
       SELECT doctor_id, clinic_id, now() - interval '1 hour', now() - interval '30 minutes' FROM slot WHERE id = $1 RETURNING id::text`,
      [slotsOf.dermaMitte[0].id],
    );
    try {
      expect(ids(await find({ after: new Date(Date.now() - 2 * HOUR) }))).toEqual(ids(await find()));
      expect(ids(await find())).not.toContain(rows[0].id);
    } finally {
      await catalog.sql.query('DELETE FROM slot WHERE id = $1', [rows[0].id]);
    }
  });
});

describe('FindNextAvailable skips booked slots', () => {
  it('returns the doctor’s next open slot while the first is claimed, and the first again once released', async () => {
    const doctor = await createDoctor(catalog.client, clinics.north.id, { specialty: 'oncology' });
    const slots = await publishSlots(catalog.client, doctor.id, [at(1), at(2), at(3)]);
    const claimId = randomUUID();
    await catalog.client.claimSlot({ slotId: slots[0].id, claimId });
    await catalog.client.claimSlot({ slotId: slots[1].id, claimId: randomUUID() });
    expect(ids(await find({ specialty: 'oncology' }))).toEqual([slots[2].id]);
    expect(ids(await find({ specialty: 'oncology', near: MITTE }))).toEqual([slots[2].id]);
    await catalog.client.releaseSlot({ slotId: slots[0].id, claimId });
    expect(ids(await find({ specialty: 'oncology' }))).toEqual([slots[0].id]);
  });
});

describe('FindNextAvailable looks 90 days ahead', () => {
  it('finds a slot 89 days after `after` but not one 91 days after', async () => {
    const soon = await createDoctor(catalog.client, clinics.mitte.id, { specialty: 'geriatrics' });
    const late = await createDoctor(catalog.client, clinics.mitte.id, { specialty: 'geriatrics' });
    const [inside] = await publishSlots(catalog.client, soon.id, [new Date(+base + 89 * DAY)]);
    await publishSlots(catalog.client, late.id, [new Date(+base + 91 * DAY)]);
    expect(ids(await find({ specialty: 'geriatrics', after: base }))).toEqual([inside.id]);
    expect(ids(await find({ specialty: 'geriatrics', after: base, clinicId: clinics.mitte.id }))).toEqual([inside.id]);
    expect(await find({ specialty: 'geriatrics', after: new Date(+base + 89 * DAY + HOUR) })).toHaveLength(1);
  });
});

describe('FindNextAvailable within a local time-of-day window', () => {
  const time = (hours: number): TimeOfDay => ({ hours, minutes: 0, seconds: 0, nanos: 0 });
  // 3 June 2030, Berlin on CEST (UTC+2): 05:00Z is 07:00 local, 06:00Z 08:00, 10:00Z 12:00.
  const day = new Date('2030-06-03T00:00:00Z');
  let slots: Slot[];

  beforeAll(async () => {
    const doctor = await createDoctor(catalog.client, clinics.mitte.id, { specialty: 'sleep medicine' });
    slots = await publishSlots(catalog.client, doctor.id, [5, 6, 10].map((h) => new Date(+day + h * HOUR)));
  });

  it('returns the first slot in the window, on the clinic’s wall clock', async () => {
    const query = { specialty: 'sleep medicine', after: day };
    expect(ids(await find({ ...query, localTimeFrom: time(8), localTimeTo: time(12) }))).toEqual([slots[1].id]);
    expect(ids(await find({ ...query, localTimeFrom: time(12) }))).toEqual([slots[2].id]);
    expect(ids(await find({ ...query, localTimeTo: time(8) }))).toEqual([slots[0].id]);
    expect(ids(await find({ ...query, localTimeFrom: time(12), near: MITTE }))).toEqual([slots[2].id]);
    expect(ids(await find({ ...query, localTimeFrom: time(13) }))).toEqual([]);
  });

  it('or on the request’s time zone', async () => {
    // 06:00 UTC is 08:00 in Berlin but 07:00 in London (BST, UTC+1).
    const query = { specialty: 'sleep medicine', after: day, timeZone: 'Europe/London' };
    expect(ids(await find({ ...query, localTimeFrom: time(7), localTimeTo: time(8) }))).toEqual([slots[1].id]);
    expect(ids(await find({ ...query, localTimeFrom: time(7), localTimeTo: time(8), clinicId: clinics.mitte.id }))).toEqual([slots[1].id]);
  });
});

describe('a doctor practising at several clinics', () => {
  // Dr. G works at Mitte (primary) and North; a slot belongs to the clinic it happens at.
  let doctor: Doctor;
  let north10: Slot;
  let mitte11: Slot;
  let north12: Slot;

  beforeAll(async () => {
    doctor = await createDoctor(catalog.client, clinics.mitte.id, { displayName: 'Dr. G', specialty: 'pediatrics' });
    await catalog.client.addDoctorClinic({ doctorId: doctor.id, clinicId: clinics.north.id });
    [north10] = await publishSlots(catalog.client, doctor.id, [at(10)], 30, clinics.north.id);
    [mitte11] = await publishSlots(catalog.client, doctor.id, [at(11)], 30, clinics.mitte.id);
    [north12] = await publishSlots(catalog.client, doctor.id, [at(12)], 30, clinics.north.id);
  });

  it('FindNextAvailable returns the earliest slot, at whichever clinic, once', async () => {
    const [slot, ...more] = await find({ specialty: 'pediatrics' });
    expect(more).toEqual([]);
    expect(slot).toEqual(withNames(north10, doctor, clinics.north));
    expect(ids(await find({ specialty: 'pediatrics', near: MITTE, radiusKm: 10 }))).toEqual([north10.id]);
  });

  it('FindNextAvailable filters by the clinic of the slot, not the doctor’s primary clinic', async () => {
    expect(await find({ specialty: 'pediatrics', clinicId: clinics.mitte.id })).toEqual([withNames(mitte11, doctor, clinics.mitte)]);
    expect(ids(await find({ specialty: 'pediatrics', clinicId: clinics.north.id }))).toEqual([north10.id]);
    expect(ids(await find({ specialty: 'pediatrics', near: MITTE, radiusKm: 4 }))).toEqual([mitte11.id]);
  });

  it('SearchSlots shows each slot with the clinic it happens at', async () => {
    const request = { startTimeFrom: at(9), startTimeTo: at(13), specialty: 'pediatrics', pageSize: 10 };
    const near = await catalog.client.searchSlots(searchRequest({ ...request, near: MITTE, radiusKm: 10 }));
    expect(near.slots).toEqual([withNames(north10, doctor, clinics.north), withNames(mitte11, doctor, clinics.mitte), withNames(north12, doctor, clinics.north)]);
    const atMitte = await catalog.client.searchSlots(searchRequest({ ...request, near: MITTE, radiusKm: 4 }));
    expect(ids(atMitte.slots)).toEqual([mitte11.id]);
    const byDoctor = await catalog.client.searchSlots(searchRequest({ ...request, doctorId: doctor.id, clinicId: clinics.north.id }));
    expect(ids(byDoctor.slots)).toEqual([north10.id, north12.id]);
  });
});
