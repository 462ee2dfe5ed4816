import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clinic, FindNextAvailableRequest, Modality, type SearchSlotsRequest, type TimeOfDay } from '@carebook/proto/catalog';
import { createClinic, createDoctor, expectRefused, hoursFromNow, searchRequest, startCatalogUnderTest, type CatalogUnderTest } from './harness';
import { publishSlots } from './search-fixtures';

// Bad coordinates, radii, time zones, windows and modalities: INVALID_ARGUMENT
// naming the field, with every bad field listed, and nothing written.

const HOUR = 3_600_000;
let catalog: CatalogUnderTest;
const base = hoursFromNow(24);

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
  const clinic = await createClinic(catalog.client, { location: { latitude: 52.52, longitude: 13.405 } });
  const doctor = await createDoctor(catalog.client, clinic.id);
  await publishSlots(catalog.client, doctor.id, [base, new Date(+base + HOUR)]);
});

afterAll(async () => {
  await catalog?.close();
});

const time = (hours: number, minutes = 0, seconds = 0, nanos = 0): TimeOfDay => ({ hours, minutes, seconds, nanos });
const near = { latitude: 52.52, longitude: 13.405 };

type Filters = Partial<SearchSlotsRequest & FindNextAvailableRequest>;
const searchSlots = (fields: Filters) =>
  catalog.client.searchSlots(searchRequest({ startTimeFrom: base, startTimeTo: new Date(+base + 24 * HOUR), ...(fields as Partial<SearchSlotsRequest>) }));
const findNextAvailable = (fields: Filters) =>
  catalog.client.findNextAvailable({ ...FindNextAvailableRequest.fromPartial({}), ...(fields as Partial<FindNextAvailableRequest>) });

/** Bad filters both RPCs share, with the field each must name. */
const sharedCases: [string, Filters, string][] = [
  ['a latitude above 90', { near: { latitude: 90.5, longitude: 0 } }, 'near.latitude'],
  ['a latitude below -90', { near: { latitude: -91, longitude: 0 } }, 'near.latitude'],
  ['a latitude that is not a number', { near: { latitude: NaN, longitude: 0 } }, 'near.latitude'],
  ['a longitude above 180', { near: { latitude: 0, longitude: 180.01 } }, 'near.longitude'],
  ['a longitude below -180', { near: { latitude: 0, longitude: -200 } }, 'near.longitude'],
  ['an infinite longitude', { near: { latitude: 0, longitude: Infinity } }, 'near.longitude'],
  ['a negative radius', { near, radiusKm: -1 }, 'radius_km'],
  ['a radius that is not a number', { near, radiusKm: NaN }, 'radius_km'],
  ['a radius over 200 km', { near, radiusKm: 200.5 }, 'radius_km'],
  ['a radius without near', { radiusKm: 5 }, 'radius_km'],
  ['an unknown time zone', { localTimeFrom: time(8), timeZone: 'Mars/Olympus' }, 'time_zone'],
  ['a time zone without a window', { timeZone: 'Europe/Berlin' }, 'time_zone'],
  ['an inverted window', { localTimeFrom: time(12), localTimeTo: time(8) }, 'local_time_to'],
  ['an empty window', { localTimeFrom: time(8), localTimeTo: time(8) }, 'local_time_to'],
  ['a window starting at 24:00', { localTimeFrom: time(24) }, 'local_time_from'],
  ['an hour past 24:00', { localTimeTo: time(24, 30) }, 'local_time_to'],
  ['minutes of 60', { localTimeFrom: time(8, 60) }, 'local_time_from'],
  ['seconds of 60', { localTimeTo: time(8, 0, 60) }, 'local_time_to'],
  ['nanos of a whole second', { localTimeFrom: time(8, 0, 0, 1_000_000_000) }, 'local_time_from'],
  ['a negative hour', { localTimeFrom: time(-1) }, 'local_time_from'],
  ['an unknown modality', { modality: 5 as Modality }, 'modality'],
  ['video near a place (video slots have none)', { near, modality: Modality.MODALITY_VIDEO }, 'near'],
];

describe.each([
  ['SearchSlots', searchSlots],
  ['FindNextAvailable', findNextAvailable],
])('%s refuses bad filters', (_, call) => {
  it.each(sharedCases)('%s', async (__, fields, field) => {
    const err = await expectRefused(catalog, () => call(fields), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field });
    expect(err.badRequest?.fieldViolations.map((v) => v.field)).toEqual([field]);
  });

  it('names every bad field in one error', async () => {
    const err = await expectRefused(
      catalog,
      () => call({ near: { latitude: 95, longitude: 190 }, radiusKm: -3, localTimeFrom: time(9), localTimeTo: time(7), timeZone: 'Nowhere/Land' }),
      status.INVALID_ARGUMENT,
      { reason: 'INVALID_ARGUMENT' },
    );
    expect(err.badRequest?.fieldViolations.map((v) => v.field).sort()).toEqual(
      ['local_time_to', 'near.latitude', 'near.longitude', 'radius_km', 'time_zone'].sort(),
    );
  });

  it('accepts the edges: poles, ±180°, 200 km, 00:00 to 24:00 and the last instant of the day', async () => {
    for (const fields of [
      { near: { latitude: 90, longitude: 180 }, radiusKm: 200 },
      { near: { latitude: -90, longitude: -180 }, radiusKm: 0.001 },
      { localTimeFrom: time(0), localTimeTo: time(24), timeZone: 'UTC' },
      { localTimeFrom: time(23, 59, 59, 999_999_999) },
    ]) {
      await expect(call(fields)).resolves.toBeDefined();
    }
  });
});

describe('FindNextAvailable refuses', () => {
  const expectInvalid = (fields: Filters, field: string) =>
    expectRefused(catalog, () => findNextAvailable(fields), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field });

  it('a limit over 100', () => expectInvalid({ limit: 101 }, 'limit'));
  it('a negative limit', () => expectInvalid({ limit: -1 }, 'limit'));
  it('a malformed clinic id', () => expectInvalid({ clinicId: 'mitte' }, 'clinic_id'));
});

describe('CreateClinic refuses a bad location', () => {
  const create = (location: { latitude: number; longitude: number }) =>
    catalog.client.createClinic({ clinic: Clinic.fromPartial({ displayName: 'Edge', timeZone: 'UTC', address: 'x', location }) });

  it.each([
    [{ latitude: 90.1, longitude: 0 }, 'clinic.location.latitude'],
    [{ latitude: NaN, longitude: 0 }, 'clinic.location.latitude'],
    [{ latitude: 0, longitude: -180.1 }, 'clinic.location.longitude'],
    [{ latitude: 0, longitude: Infinity }, 'clinic.location.longitude'],
  ])('%o names %s', async (location, field) => {
    await expectRefused(catalog, () => create(location), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field });
  });

  it('accepts (0, 0): a location is given by its presence, not by being non-zero', async () => {
    const { clinic } = await create({ latitude: 0, longitude: 0 });
    expect(clinic!.location).toEqual({ latitude: 0, longitude: 0 });
  });
});

describe('the database refuses a bad location whatever the code does', () => {
  it.each([
    ['clinic_latitude_check', 91, 0],
    ['clinic_longitude_check', 0, -181],
    ['clinic_latitude_check', 'NaN', 0],
    ['clinic_location_check', 10, null],
    ['clinic_location_check', null, 10],
  ])('%s: (%s, %s)', async (constraint, latitude, longitude) => {
    await expect(
      catalog.sql.query(`INSERT INTO clinic (display_name, time_zone, address, latitude, longitude) VALUES ('x', 'UTC', 'x', $1, $2)`, [latitude, longitude]),
    ).rejects.toMatchObject({ code: '23514', constraint });
  });
});
