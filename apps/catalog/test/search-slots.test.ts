import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotStatus, type Clinic, type Doctor, type SearchSlotsRequest, type Slot } from '@carebook/proto/catalog';
import {
  consecutiveSlots,
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

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

let catalog: CatalogUnderTest;
let north: Clinic;
let south: Clinic;
let doctors: Record<'cardioNorth1' | 'cardioNorth2' | 'dermaNorth' | 'cardioSouth', Doctor>;
/** Every slot published in the window [base, base + 1 day), in search order. */
let inWindow: Slot[];
const base = hoursFromNow(48);
const window = { startTimeFrom: base, startTimeTo: new Date(+base + DAY) };

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
  north = await createClinic(catalog.client, { displayName: 'North' });
  south = await createClinic(catalog.client, { displayName: 'South' });
  doctors = {
    cardioNorth1: await createDoctor(catalog.client, north.id, { specialty: 'Cardiology' }),
    cardioNorth2: await createDoctor(catalog.client, north.id, { specialty: 'cardiology' }),
    dermaNorth: await createDoctor(catalog.client, north.id, { specialty: 'dermatology' }),
    cardioSouth: await createDoctor(catalog.client, south.id, { specialty: 'CARDIOLOGY' }),
  };
  // Every doctor has slots at the same instants, so start_time ties are the
  // rule and only the id orders them.
  inWindow = [];
  for (const doctor of Object.values(doctors)) {
    const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(base, 6, 30) });
    inWindow.push(...slots);
  }
  // Outside the window: one slot ending inside it but starting before, one starting at its end.
  await catalog.client.createSlots({
    doctorId: doctors.cardioNorth1.id,
    slots: [
      { startTime: new Date(+base - 30 * MINUTE), endTime: base },
      { startTime: window.startTimeTo, endTime: new Date(+window.startTimeTo + 30 * MINUTE) },
    ],
  });
  // Search results carry the names of their doctor and clinic.
  const doctorOf = new Map(Object.values(doctors).map((d) => [d.id, d]));
  const clinicOf = new Map([north, south].map((c) => [c.id, c]));
  inWindow = inSearchOrder(inWindow).map((s) => withNames(s, doctorOf.get(s.doctorId)!, clinicOf.get(s.clinicId)!));
});

afterAll(async () => {
  await catalog?.close();
});

const search = (fields: Partial<SearchSlotsRequest>) => catalog.client.searchSlots(searchRequest({ ...window, pageSize: 500, ...fields }));
const ids = (slots: Slot[]) => slots.map((s) => s.id);
const walk = (fields: Partial<SearchSlotsRequest>, pageSize: number) =>
  walkPages(async (pageToken) => {
    const page = await search({ ...fields, pageSize, pageToken });
    expect(page.slots.length).toBeLessThanOrEqual(pageSize);
    return { items: page.slots, nextPageToken: page.nextPageToken };
  });

describe('SearchSlots', () => {
  it('returns the open slots of the window in start_time, id order, each with its doctor and clinic', async () => {
    const { slots, nextPageToken } = await search({});
    expect(slots).toEqual(inWindow);
    expect(nextPageToken).toBe('');
    const clinicOf = new Map(Object.values(doctors).map((d) => [d.id, d.clinicId]));
    for (const slot of slots) {
      expect(slot.status).toBe(SlotStatus.SLOT_STATUS_OPEN);
      expect(slot.claimId).toBe('');
      expect(slot.clinicId).toBe(clinicOf.get(slot.doctorId));
    }
    // The expected order agrees with PostgreSQL's own ordering of uuids.
    const { rows } = await catalog.sql.query<{ id: string }>(
      `SELECT id::text FROM slot WHERE start_time >= $1 AND start_time < $2 ORDER BY start_time, id`,
      [window.startTimeFrom, window.startTimeTo],
    );
    expect(ids(slots)).toEqual(rows.map((r) => r.id));
  });

  it('includes a slot starting at start_time_from and excludes one starting at start_time_to', async () => {
    const { slots } = await search({ startTimeFrom: new Date(+base + 30 * MINUTE), startTimeTo: new Date(+base + 90 * MINUTE) });
    expect(slots.map((s) => +s.startTime!)).toEqual([...Array(4).fill(+base + 30 * MINUTE), ...Array(4).fill(+base + 60 * MINUTE)]);
  });

  it('filters by specialty, case-insensitively', async () => {
    const cardiologists = [doctors.cardioNorth1.id, doctors.cardioNorth2.id, doctors.cardioSouth.id];
    const { slots } = await search({ specialty: ' cARDIOLOGY ' });
    expect(slots).toEqual(inWindow.filter((s) => cardiologists.includes(s.doctorId)));
    expect(slots).toHaveLength(18);
  });

  it('filters by clinic', async () => {
    const { slots } = await search({ clinicId: south.id });
    expect(slots).toEqual(inWindow.filter((s) => s.clinicId === south.id));
    expect(slots).toHaveLength(6);
  });

  it('filters by doctor', async () => {
    const { slots } = await search({ doctorId: doctors.dermaNorth.id });
    expect(slots).toEqual(inWindow.filter((s) => s.doctorId === doctors.dermaNorth.id));
    expect(slots).toHaveLength(6);
  });

  it('combines filters', async () => {
    const { slots } = await search({ clinicId: north.id, specialty: 'cardiology' });
    expect(slots).toEqual(inWindow.filter((s) => s.clinicId === north.id && s.doctorId !== doctors.dermaNorth.id));
    expect(await search({ clinicId: south.id, specialty: 'dermatology' })).toEqual({ slots: [], nextPageToken: '' });
    expect(await search({ specialty: 'neurology' })).toEqual({ slots: [], nextPageToken: '' });
  });

  it.each([1, 3, 4, 5, 7, 24])('walks pages of size %i through start_time ties without duplicates or gaps', async (pageSize) => {
    const walked = await walk({}, pageSize);
    expect(ids(walked.items)).toEqual(ids(inWindow));
    expect(new Set(ids(walked.items)).size).toBe(inWindow.length);
    expect(walked.pages).toBe(Math.ceil(inWindow.length / pageSize));
  });

  it('walks filtered pages too', async () => {
    const walked = await walk({ specialty: 'cardiology', clinicId: north.id }, 5);
    expect(ids(walked.items)).toEqual(ids(inWindow.filter((s) => s.clinicId === north.id && s.doctorId !== doctors.dermaNorth.id)));
  });
});

describe('SearchSlots shows only open slots', () => {
  it('hides a claimed slot, also between pages, and shows it again once released', async () => {
    const doctor = await createDoctor(catalog.client, north.id, { specialty: 'neurology' });
    const from = new Date(+base + 3 * DAY);
    const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(from, 4, 30) });
    const query = { doctorId: doctor.id, startTimeFrom: from, startTimeTo: new Date(+from + DAY) };
    const claimId = randomUUID();

    const first = await search({ ...query, pageSize: 2 });
    expect(ids(first.slots)).toEqual(ids(slots.slice(0, 2)));
    await catalog.client.claimSlot({ slotId: slots[2].id, claimId });
    const second = await search({ ...query, pageSize: 2, pageToken: first.nextPageToken });
    expect(ids(second.slots)).toEqual([slots[3].id]);
    expect(second.nextPageToken).toBe('');

    expect(ids((await search(query)).slots)).toEqual(ids([slots[0], slots[1], slots[3]]));
    await catalog.client.releaseSlot({ slotId: slots[2].id, claimId });
    expect(ids((await search(query)).slots)).toEqual(ids(slots));
  });
});

describe('SearchSlots page size', () => {
  let bulk: Slot[];
  const from = new Date(+base + 10 * DAY);
  const query = () => ({ doctorId: bulk[0].doctorId, startTimeFrom: from, startTimeTo: new Date(+from + 10 * DAY) });

  beforeAll(async () => {
    const doctor = await createDoctor(catalog.client, south.id, { specialty: 'radiology' });
    bulk = (await catalog.client.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(from, 600, 10) })).slots;
  });

  it('is 50 when unset', async () => {
    const page = await search({ ...query(), pageSize: 0 });
    expect(ids(page.slots)).toEqual(ids(bulk.slice(0, 50)));
    expect(page.nextPageToken).not.toBe('');
  });

  it('is at most 500, and pages of 500 reach every slot', async () => {
    const page = await search({ ...query(), pageSize: 500 });
    expect(page.slots).toHaveLength(500);
    const walked = await walk(query(), 500);
    expect(ids(walked.items)).toEqual(ids(bulk));
    expect(walked.pages).toBe(2);
  });
});

describe('SearchSlots refuses bad input', () => {
  const expectInvalid = (fields: Partial<SearchSlotsRequest>, field: string) =>
    expectRefused(catalog, () => search(fields), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field });

  it('a missing start_time_from', () => expectInvalid({ startTimeFrom: undefined }, 'start_time_from'));
  it('a missing start_time_to', () => expectInvalid({ startTimeTo: undefined }, 'start_time_to'));
  it('an inverted window', () => expectInvalid({ startTimeFrom: window.startTimeTo, startTimeTo: window.startTimeFrom }, 'start_time_to'));
  it('an empty window', () => expectInvalid({ startTimeTo: window.startTimeFrom }, 'start_time_to'));
  it('a window wider than 31 days', () => expectInvalid({ startTimeTo: new Date(+base + 31 * DAY + 1) }, 'start_time_to'));
  it('a malformed clinic id', () => expectInvalid({ clinicId: 'north' }, 'clinic_id'));
  it('a malformed doctor id', () => expectInvalid({ doctorId: `${doctors.dermaNorth.id}0` }, 'doctor_id'));
  it('a negative page size', () => expectInvalid({ pageSize: -1 }, 'page_size'));
  it('a page size over 500', () => expectInvalid({ pageSize: 501 }, 'page_size'));
  it('a garbage page token', () => expectInvalid({ pageToken: 'garbage' }, 'page_token'));

  it('accepts a window of exactly 31 days', async () => {
    const { slots } = await search({ startTimeTo: new Date(+base + 31 * DAY) });
    expect(slots.length).toBeGreaterThan(inWindow.length);
  });

  it('a page token used with another filter or window', async () => {
    const { nextPageToken } = await search({ pageSize: 2 });
    expect(nextPageToken).not.toBe('');
    expect((await search({ pageSize: 2, pageToken: nextPageToken })).slots).toHaveLength(2);
    await expectInvalid({ pageSize: 2, pageToken: nextPageToken, specialty: 'cardiology' }, 'page_token');
    await expectInvalid({ pageSize: 2, pageToken: nextPageToken, clinicId: north.id }, 'page_token');
    await expectInvalid({ pageSize: 2, pageToken: nextPageToken, startTimeTo: new Date(+window.startTimeTo + 1) }, 'page_token');
  });

  it('a page token from ListClinics', async () => {
    const { nextPageToken } = await catalog.client.listClinics({ pageSize: 1, pageToken: '' });
    await expectInvalid({ pageToken: nextPageToken }, 'page_token');
  });

  it('names every bad field in one error', async () => {
    const err = await expectInvalid({ startTimeFrom: undefined, clinicId: 'x', pageSize: 1000 }, 'start_time_from');
    expect(err.badRequest?.fieldViolations.map((v) => v.field)).toEqual(['start_time_from', 'clinic_id', 'page_size']);
  });

  it('answers with no slots, not NOT_FOUND, for an unknown doctor or clinic', async () => {
    expect(await search({ doctorId: randomUUID() })).toEqual({ slots: [], nextPageToken: '' });
    expect(await search({ clinicId: randomUUID() })).toEqual({ slots: [], nextPageToken: '' });
  });
});
