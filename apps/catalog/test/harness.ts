import pg from 'pg';
import type { ChannelOptions, status } from '@grpc/grpc-js';
import { expect } from 'vitest';
import {
  Clinic,
  createCatalogClient,
  Doctor,
  SearchSlotsRequest,
  withBearerToken,
  type CatalogClient,
  type Slot,
} from '@carebook/proto/catalog';
import { createLogger, createMetricsRegistry, type Logger } from '@carebook/server';
import { createTestDatabase, expectGrpcError, TEST_INTERNAL_TOKEN, TEST_PAGE_TOKEN_KEYS, type ExpectedGrpcError, inspectionPool } from '@carebook/testing';
import { createCatalogDatabase, type CatalogPrisma } from '../src/db';
import type { SlotMaterialiser } from '../src/schedules/materialiser';
import { startCatalogServer, type CatalogServerOptions } from '../src/server';

/** A catalog server on its own database and a random port, with a client and a SQL pool for assertions. */
export interface CatalogUnderTest {
  address: string;
  /** The port of its Prometheus endpoint, where served. */
  metricsPort?: number;
  /** A client with the internal credential, as booking calls catalog. */
  client: CatalogClient;
  /** A client without it: any other caller. */
  publicClient: CatalogClient;
  prisma: CatalogPrisma;
  /** Direct SQL, to check what was (not) written. */
  sql: pg.Pool;
  databaseUrl: string;
  /** Another client with the internal credential on its own connection (a local subchannel pool), for real parallel callers. */
  newClient(options?: ChannelOptions): CatalogClient;
  close(): Promise<void>;
}

/** Overrides for one test file's catalog: the schedules' clock and horizon, the background loop's interval, the request size cap, TLS and its callers (the harness's own clients stay plaintext). */
export interface CatalogTestOptions
  extends Pick<CatalogServerOptions, 'slotHorizonDays' | 'materialiseIntervalMs' | 'holdReopenIntervalMs' | 'maxRequestBytes' | 'tls' | 'callers'>,
    Partial<Pick<CatalogServerOptions, 'internalTokens'>> {
  now?: () => Date;
  /** The server's logger (e.g. one that captures its records); silent unless TEST_LOG_LEVEL says otherwise. */
  log?: Logger;
}

/** Server options of a catalog under test: the test secrets, any port. */
export const TEST_CATALOG_OPTIONS: CatalogServerOptions = {
  host: '127.0.0.1',
  port: 0,
  shutdownGraceMs: 2000,
  internalTokens: [TEST_INTERNAL_TOKEN],
  pageTokenKeys: TEST_PAGE_TOKEN_KEYS,
};

/** A catalog client for `address` with the internal credential. */
export const internalCatalogClient = (address: string, options: ChannelOptions = {}) => createCatalogClient(address, withBearerToken(TEST_INTERNAL_TOKEN, options));

/** Starts catalog over a fresh database cloned from the migrated template. */
export async function startCatalogUnderTest(
  options: CatalogTestOptions = {},
): Promise<
  CatalogUnderTest & {
    /** The server's schedule materialiser, to run a background pass on demand. */
    materialiser: SlotMaterialiser;
    /** Runs the server's pass that reopens lapsed holds now. */
    reopenLapsedHolds(): Promise<void>;
  }
> {
  const db = await createTestDatabase('catalog');
  const { prisma, sql: serviceSql } = createCatalogDatabase(db.url, 20);
  const { now, log = createLogger('catalog', process.env.TEST_LOG_LEVEL ?? 'silent'), ...serverOptions } = options;
  const server = await startCatalogServer(
    { prisma, sql: serviceSql, log, now, metrics: createMetricsRegistry('catalog') },
    { ...TEST_CATALOG_OPTIONS, metricsAddress: { host: '127.0.0.1', port: 0 }, ...serverOptions },
  );
  const address = `127.0.0.1:${server.port}`;
  const client = internalCatalogClient(address);
  const publicClient = createCatalogClient(address);
  const sql = inspectionPool(db.url, 4);
  return {
    address,
    metricsPort: server.metricsPort!,
    client,
    publicClient,
    prisma,
    sql,
    databaseUrl: db.url,
    newClient: (channelOptions = {}) => internalCatalogClient(address, { 'grpc.use_local_subchannel_pool': 1, ...channelOptions }),
    materialiser: server.materialiser,
    reopenLapsedHolds: server.reopenLapsedHolds,
    async close() {
      client.close();
      publicClient.close();
      await server.shutdown();
      await prisma.$disconnect();
      await sql.end();
      await db.drop();
    },
  };
}

/** Row counts of the catalog tables, to prove a refused call wrote nothing. */
export async function countRows(sql: pg.Pool): Promise<{
  clinics: number;
  doctors: number;
  slots: number;
  booked: number;
  doctorClinics: number;
  schedules: number;
  scheduleRules: number;
  scheduleExceptions: number;
}> {
  const { rows } = await sql.query(`SELECT
    (SELECT count(*) FROM clinic)::int AS clinics,
    (SELECT count(*) FROM doctor)::int AS doctors,
    (SELECT count(*) FROM slot)::int AS slots,
    (SELECT count(*) FROM slot WHERE status = 'booked')::int AS booked,
    (SELECT count(*) FROM doctor_clinic)::int AS "doctorClinics",
    (SELECT count(*) FROM schedule)::int AS schedules,
    (SELECT count(*) FROM schedule_rule)::int AS "scheduleRules",
    (SELECT count(*) FROM schedule_exception)::int AS "scheduleExceptions"`);
  return rows[0];
}

/** Every row of the catalog tables, to prove a refused call changed nothing (not even update_time). */
export async function tableSnapshot(sql: pg.Pool): Promise<Record<string, unknown[]>> {
  const read = async (table: string, orderBy = 'id') => (await sql.query(`SELECT * FROM ${table} ORDER BY ${orderBy}`)).rows;
  return {
    clinic: await read('clinic'),
    doctor: await read('doctor'),
    slot: await read('slot'),
    doctor_clinic: await read('doctor_clinic', 'doctor_id, clinic_id'),
    schedule: await read('schedule'),
    schedule_rule: await read('schedule_rule', 'schedule_id, day_of_week, start_local_time'),
    schedule_exception: await read('schedule_exception'),
  };
}

/** Asserts `call` fails with `code` and the expected details, and that it wrote nothing. Returns the error. */
export async function expectRefused(catalog: CatalogUnderTest, call: () => Promise<unknown>, code: status, expected: ExpectedGrpcError) {
  const counts = await countRows(catalog.sql);
  const snapshot = await tableSnapshot(catalog.sql);
  const err = await expectGrpcError(call(), code, expected);
  expect(await countRows(catalog.sql)).toEqual(counts);
  expect(await tableSnapshot(catalog.sql)).toEqual(snapshot);
  return err;
}

const HOUR = 3_600_000;

/** A time `hours` from now, rounded to the hour so slots line up. */
export function hoursFromNow(hours: number): Date {
  return new Date(Math.ceil(Date.now() / HOUR) * HOUR + hours * HOUR);
}

/** `count` back-to-back slots of `minutes` each, starting at `start`. */
export function consecutiveSlots(start: Date, count: number, minutes = 20): { startTime: Date; endTime: Date }[] {
  return Array.from({ length: count }, (_, i) => ({
    startTime: new Date(+start + i * minutes * 60_000),
    endTime: new Date(+start + (i + 1) * minutes * 60_000),
  }));
}

/** Creates a clinic through the API; `fields` override the defaults. */
export async function createClinic(client: CatalogClient, fields: Partial<Clinic> = {}): Promise<Clinic> {
  const clinic = Clinic.fromPartial({ displayName: 'Praxis am Markt', timeZone: 'Europe/Berlin', address: 'Markt 1, Berlin', ...fields });
  const response = await client.createClinic({ clinic });
  return response.clinic!;
}

/** Creates a doctor at `clinicId` through the API; `fields` override the defaults. */
export async function createDoctor(client: CatalogClient, clinicId: string, fields: Partial<Doctor> = {}): Promise<Doctor> {
  const doctor = Doctor.fromPartial({ clinicId, displayName: 'Dr. Example', specialty: 'cardiology', ...fields });
  const response = await client.createDoctor({ doctor });
  return response.doctor!;
}

/** A SearchSlotsRequest with every unset field at its proto default. */
export function searchRequest(fields: Partial<SearchSlotsRequest>): SearchSlotsRequest {
  return { ...SearchSlotsRequest.fromPartial({}), ...fields };
}

/** Follows next_page_token from the first page to the last; returns every item and the number of pages. */
export async function walkPages<T>(
  fetchPage: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
  maxPages = 1000,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let token = '';
  for (let pages = 1; pages <= maxPages; pages++) {
    const page = await fetchPage(token);
    items.push(...page.items);
    if (!page.nextPageToken) return { items, pages };
    token = page.nextPageToken;
  }
  throw new Error(`more than ${maxPages} pages`);
}

/** Slots ordered as SearchSlots orders them: start_time, then id. */
export function inSearchOrder(slots: Slot[]): Slot[] {
  return [...slots].sort((a, b) => +a.startTime! - +b.startTime! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The slot as SearchSlots, FindNextAvailable and GetSlot show it: with its doctor's and clinic's names. */
export function withNames(slot: Slot, doctor: Doctor, clinic: Clinic): Slot {
  return {
    ...slot,
    doctorDisplayName: doctor.displayName,
    specialty: doctor.specialty,
    clinicDisplayName: clinic.displayName,
    clinicTimeZone: clinic.timeZone,
  };
}
