import pg from 'pg';
import { createBookingClient, type BookingClient } from '@carebook/proto/booking';
import { createCatalogClient, type CatalogClient } from '@carebook/proto/catalog';
import { createLogger, createMetricsRegistry, grpcClientMetrics } from '@carebook/server';
import { createTestDatabase, TEST_BOOKING_INTERNAL_TOKEN, TEST_INTERNAL_TOKEN, TEST_PAGE_TOKEN_KEYS, inspectionPool } from '@carebook/testing';
import { startCatalogUnderTest, type CatalogUnderTest } from '../../catalog/test/harness';
import { jitsiRooms } from '../src/consultations/jitsi-rooms';
import type { VideoRoomProvider } from '../src/consultations/video-room-provider';
import { createBookingDatabase, type BookingPrisma } from '../src/db';
import { startBookingService, type BookingDeps, type BookingServiceOptions, type RunningBooking } from '../src/server';

/** Booking (and the catalog it calls), each on its own database and port. */
export interface BookingUnderTest {
  catalog: CatalogUnderTest;
  client: BookingClient;
  /** The booking service's own catalog client. */
  catalogClientOfBooking: CatalogClient;
  service: RunningBooking;
  prisma: BookingPrisma;
  /** Direct SQL on the booking database, to check what was (not) written. */
  sql: pg.Pool;
  databaseUrl: string;
  close(): Promise<void>;
}

export const TEST_BOOKING_OPTIONS: Omit<BookingServiceOptions, 'port'> = {
  host: '127.0.0.1',
  shutdownGraceMs: 2000,
  catalogTimeoutMs: 1000,
  catalogInternalToken: TEST_INTERNAL_TOKEN,
  internalTokens: [TEST_BOOKING_INTERNAL_TOKEN],
  eventRetentionDays: 30,
  eventSequenceIntervalMs: 20,
  eventPollMs: 1000,
  pageTokenKeys: TEST_PAGE_TOKEN_KEYS,
  reconcileGraceMs: 3000,
  clockSkewBoundMs: 500,
  // Long intervals: tests drive the reconciler and dispatcher themselves.
  reconcileIntervalMs: 3_600_000,
  releaseIntervalMs: 3_600_000,
  releaseMaxBackoffMs: 1000,
  video: { opensBeforeMs: 900_000, graceMs: 1_800_000, intervalMs: 3_600_000, maxBackoffMs: 1000 },
  takenSlotMemoryMs: 1000,
};

/** The video provider of tests unless one says otherwise: the real Jitsi adapter, which calls nothing outside. */
export const TEST_VIDEO_ROOMS: VideoRoomProvider = jitsiRooms({ baseUrl: 'https://meet.example.org' });

/** Starts catalog and booking over fresh databases; booking reaches catalog at `catalogAddress` if given. */
export async function startBookingUnderTest(
  options: Partial<BookingServiceOptions> & Partial<Pick<BookingDeps, 'videoRooms'>> & { catalogAddress?: string; catalog?: CatalogUnderTest } = {},
): Promise<BookingUnderTest> {
  const catalog = options.catalog ?? (await startCatalogUnderTest());
  const db = await createTestDatabase('booking');
  const { prisma, sql: bookingSql } = createBookingDatabase(db.url, 20);
  const log = createLogger('booking', process.env.TEST_LOG_LEVEL ?? 'silent');
  const metrics = createMetricsRegistry('booking');
  const catalogClientOfBooking = createCatalogClient(options.catalogAddress ?? catalog.address, { interceptors: [grpcClientMetrics(metrics)] });
  const service = await startBookingService(
    { prisma, sql: bookingSql, catalog: catalogClientOfBooking, log, metrics, databaseUrl: db.url, videoRooms: options.videoRooms ?? TEST_VIDEO_ROOMS },
    { ...TEST_BOOKING_OPTIONS, port: 0, metricsAddress: { host: '127.0.0.1', port: 0 }, ...options },
  );
  const client = createBookingClient(`127.0.0.1:${service.port}`);
  const sql = inspectionPool(db.url, 4);
  return {
    catalog,
    client,
    catalogClientOfBooking,
    service,
    prisma,
    sql,
    databaseUrl: db.url,
    async close() {
      client.close();
      await service.shutdown();
      catalogClientOfBooking.close();
      await prisma.$disconnect();
      await sql.end();
      await db.drop();
      if (!options.catalog) await catalog.close();
    },
  };
}

/** Row counts of the booking tables, to prove a refused call wrote nothing. */
export async function countBookingRows(sql: pg.Pool): Promise<{ patients: number; appointments: number; releases: number }> {
  const { rows } = await sql.query(`SELECT
    (SELECT count(*) FROM patient)::int AS patients,
    (SELECT count(*) FROM appointment)::int AS appointments,
    (SELECT count(*) FROM slot_release)::int AS releases`);
  return rows[0];
}
