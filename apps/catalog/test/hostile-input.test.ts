import { randomUUID } from 'node:crypto';
import { Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogServiceService as Catalog, Clinic, type Doctor, type SearchSlotsRequest } from '@carebook/proto/catalog';
import { callRaw, capturedLogger, createRawClient, encodeSecondsNanos, replaceLengthDelimited, type RawReply } from '@carebook/testing';
import { consecutiveSlots, countRows, createClinic, createDoctor, expectRefused, hoursFromNow, searchRequest, startCatalogUnderTest, tableSnapshot, type CatalogUnderTest } from './harness';

// One test per class of hostile input the outside probe found: each gets a
// clear INVALID_ARGUMENT (or RESOURCE_EXHAUSTED for a request over the cap)
// naming the field, quoting at most a short prefix, and nothing is written.
// The fuzz test (fuzz.test.ts) covers every RPC; these pin each class by name.

let catalog: CatalogUnderTest;
let doctor: Doctor;
let raw: ReturnType<typeof createRawClient>;
const logs = capturedLogger('catalog', 'warn');

beforeAll(async () => {
  catalog = await startCatalogUnderTest({ log: logs.log });
  doctor = await createDoctor(catalog.client, (await createClinic(catalog.client)).id);
  raw = createRawClient(catalog.address);
});
afterAll(async () => {
  raw?.close();
  await catalog?.close();
});

const invalid = (call: () => Promise<unknown>, field: string) => expectRefused(catalog, call, status.INVALID_ARGUMENT, { field });

/** Calls `method` with `bytes` and checks that nothing was written. */
async function refusedRaw(method: { path: string }, bytes: Uint8Array, metadata?: Metadata): Promise<RawReply> {
  const before = await tableSnapshot(catalog.sql);
  const reply = await callRaw(raw, method.path, bytes, metadata);
  expect(await tableSnapshot(catalog.sql)).toEqual(before);
  return reply;
}

// A search whose start_time_from is a recognisable Timestamp, to be swapped for raw bytes.
const SENTINEL = new Date(1_234_567_890_000);
const sentinelSearch = (): SearchSlotsRequest => searchRequest({ startTimeFrom: SENTINEL, startTimeTo: new Date(+SENTINEL + 3_600_000) });
const searchWithRawFrom = (seconds: bigint, nanos: number) =>
  replaceLengthDelimited(Catalog.searchSlots.requestSerialize(sentinelSearch()), encodeSecondsNanos(1_234_567_890n, 0), encodeSecondsNanos(seconds, nanos))!;

describe('text', () => {
  it.each([
    ['clinic.display_name', { displayName: 'Praxis\u0000Mitte' }],
    ['clinic.address', { address: 'Markt 1\u0000' }],
    ['clinic.time_zone', { timeZone: 'Europe/Berlin\u0000' }],
    ['clinic.display_name', { displayName: 'Praxis\u001bMitte' }],
  ])('refuses control characters in %s', async (field, override) => {
    const clinic = Clinic.fromPartial({ displayName: 'Praxis', timeZone: 'Europe/Berlin', address: 'Markt 1', ...override });
    const err = await invalid(() => catalog.client.createClinic({ clinic }), field);
    expect(err.badRequest?.fieldViolations.find((v) => v.field === field)?.description).toContain('control characters');
  });

  it('refuses control characters in filters too', async () => {
    await invalid(() => catalog.client.listDoctors({ clinicId: '', specialty: 'cardio\u0000logy', pageSize: 0, pageToken: '' }), 'specialty');
    const search = searchRequest({ startTimeFrom: hoursFromNow(1), startTimeTo: hoursFromNow(2), specialty: '\u0000' });
    await invalid(() => catalog.client.searchSlots(search), 'specialty');
  });

  it('quotes only a short prefix of a long bad value, in the message and in BadRequest', async () => {
    const zone = `Mars/${'x'.repeat(200_000)}`;
    const clinic = Clinic.fromPartial({ displayName: 'Praxis', timeZone: 'UTC', address: 'Markt 1' });
    const search = searchRequest({ startTimeFrom: hoursFromNow(1), startTimeTo: hoursFromNow(2), timeZone: zone, localTimeFrom: { hours: 8, minutes: 0, seconds: 0, nanos: 0 } });
    const err = await invalid(() => catalog.client.searchSlots(search), 'time_zone');
    expect(err.details.length).toBeLessThan(200);
    expect(clinic.displayName).toBe('Praxis');
    const reply = await refusedRaw(Catalog.getClinic, Catalog.getClinic.requestSerialize({ id: 'y'.repeat(100_000) }));
    expect(reply.details).toBe(`id: must be a UUID, got "${'y'.repeat(64)}"…`);
    expect(reply.replyBytes).toBeLessThan(2_000);
  });
});

describe('times', () => {
  it('refuses a slot that would end after 9998, instead of storing what no reply can carry', async () => {
    const start = new Date('9998-12-31T23:30:00Z');
    await invalid(() => catalog.client.createSlots({ doctorId: doctor.id, slots: [{ startTime: start, endTime: new Date(+start + 3_600_000) }] }), 'slots[0].end_time');
  });

  it.each([
    ['seconds beyond 2^53', 2n ** 60n, 0, 'start_time_from', 'must be from 0001-01-01 to 9999-12-31'],
    ['year 10000', 253_402_300_800n, 0, 'start_time_from', 'must be from 0001-01-01 to 9999-12-31'],
    ['nanos of a whole second', 1_700_000_000n, 1_000_000_000, 'start_time_from.nanos', 'must be from 0 to 999,999,999'],
    ['negative nanos', 1_700_000_000n, -1, 'start_time_from.nanos', 'must be from 0 to 999,999,999'],
    ['precision below a millisecond', 1_700_000_000n, 1, 'start_time_from', 'must be a whole number of milliseconds (carebook keeps times to the millisecond)'],
  ])('refuses a Timestamp with %s, naming the field', async (_, seconds, nanos, field, description) => {
    const reply = await refusedRaw(Catalog.searchSlots, searchWithRawFrom(seconds, nanos));
    expect(reply.code).toBe(status.INVALID_ARGUMENT);
    expect(reply.details).toBe(`${field}: ${description}`);
  });

  it('takes a Timestamp of whole milliseconds', async () => {
    const reply = await refusedRaw(Catalog.searchSlots, searchWithRawFrom(1_234_567_000n, 123_000_000));
    expect(reply.code).toBe(status.OK);
  });
});

describe('bytes', () => {
  it.each([
    ['random bytes', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])],
    ['a truncated message', Catalog.getClinic.requestSerialize({ id: 'f'.repeat(36) }).subarray(0, 10)],
    ['a length beyond the message', Buffer.from([0x0a, 0x7f, 0x41])],
  ])('refuses %s that do not decode as MALFORMED_REQUEST, and logs it', async (_, bytes) => {
    const correlationId = randomUUID();
    const metadata = new Metadata();
    metadata.set('x-request-id', correlationId);
    const reply = await refusedRaw(Catalog.getClinic, bytes, metadata);
    expect(reply).toMatchObject({ code: status.INVALID_ARGUMENT, reason: 'MALFORMED_REQUEST', details: 'the request is not a valid carebook.catalog.v1.GetClinicRequest message' });
    // Logged once, at warn level, with the call's correlation id and why the bytes did not decode.
    const logged = logs.records().filter((r) => r.correlationId === correlationId);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 40, msg: 'request refused while decoding', reason: 'MALFORMED_REQUEST', method: Catalog.getClinic.path });
    expect((logged[0].err as { message?: string } | undefined)?.message).toBeTruthy();
  });

  it('refuses a request over the cap before reading it, and keeps serving', async () => {
    const huge = Clinic.fromPartial({ displayName: 'Praxis', timeZone: 'UTC', address: 'a'.repeat(1_000_000) });
    const counts = await countRows(catalog.sql);
    const reply = await callRaw(raw, Catalog.createClinic.path, Catalog.createClinic.requestSerialize({ clinic: huge }));
    expect(reply.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(await countRows(catalog.sql)).toEqual(counts);
    expect((await catalog.client.listClinics({ pageSize: 1, pageToken: '' })).clinics).toHaveLength(1);
  });
});

describe('page tokens', () => {
  it('refuse a token whose body was edited to reach SQL, as INVALID_ARGUMENT', async () => {
    await catalog.client.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(hoursFromNow(30), 3) });
    const search = searchRequest({ doctorId: doctor.id, startTimeFrom: hoursFromNow(29), startTimeTo: hoursFromNow(40), pageSize: 1 });
    const { nextPageToken } = await catalog.client.searchSlots(search);
    const [body, mac] = nextPageToken.split('.');
    const parsed = JSON.parse(Buffer.from(body, 'base64url').toString());
    for (const k of [['-271821-04-20T00:00:00.000Z', parsed.k[1]], [parsed.k[0], 'not-a-uuid'], [parsed.k[0], `${parsed.k[1]}' OR 1=1`]]) {
      const forged = `${Buffer.from(JSON.stringify({ ...parsed, k })).toString('base64url')}.${mac}`;
      const err = await invalid(() => catalog.client.searchSlots({ ...search, pageToken: forged }), 'page_token');
      expect(err.badRequest?.fieldViolations.map(({ field, description }) => ({ field, description }))).toEqual([
        { field: 'page_token', description: 'is not a token this API issued' },
      ]);
    }
  });
});

describe('metadata', () => {
  const getClinic = () => Catalog.listClinics.requestSerialize({ pageSize: 1, pageToken: '' });

  it('replaces a correlation id that is too long with a fresh UUID, never echoing the long one', async () => {
    const metadata = new Metadata();
    metadata.set('x-request-id', 'r'.repeat(4_000));
    const reply = await callRaw(raw, Catalog.listClinics.path, getClinic(), metadata);
    expect(reply.code).toBe(status.OK);
    expect(reply.replyBytes).toBeLessThan(4_000);
  });

  it.each([
    ['a huge bearer token', `Bearer ${'t'.repeat(8_000)}`],
    ['a scheme without a token', 'Bearer'],
    ['a token with spaces in it', 'Bearer a b c'],
  ])('refuses %s as CREDENTIAL_INVALID with a short reply, writing nothing', async (_, header) => {
    const metadata = new Metadata();
    metadata.set('authorization', header);
    const reply = await refusedRaw(Catalog.listClinics, getClinic(), metadata);
    expect(reply).toMatchObject({ code: status.UNAUTHENTICATED, reason: 'CREDENTIAL_INVALID' });
    expect(reply.replyBytes).toBeLessThan(2_000);
  });

  it('serves a public read whose only authorization is a binary header (another key, not the credential)', async () => {
    const metadata = new Metadata();
    metadata.set('authorization-bin', Buffer.from([0, 1, 2]));
    const reply = await refusedRaw(Catalog.listClinics, getClinic(), metadata);
    // A -bin header is another key: it is not the authorization, which is missing, so a public read goes on.
    expect(reply.code).toBe(status.OK);
  });
});
