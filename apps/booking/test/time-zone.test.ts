import { Registry } from 'prom-client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentStatus, createBookingClient, type BookingClient, type Patient } from '@carebook/proto/booking';
import { createCatalogClient, type CatalogClient, type Slot } from '@carebook/proto/catalog';
import { createLogger, createMetricsRegistry, type CarebookGrpcServer } from '@carebook/server';
import { createTestDatabase, inspectionPool } from '@carebook/testing';
import { createCatalogDatabase } from '../../catalog/src/db';
import { startCatalogServer } from '../../catalog/src/server';
import { createPatient, createSchedule, insertAppointment, newRequestId } from './booking-fixtures';
import { TEST_CATALOG_OPTIONS } from '../../catalog/test/harness';
import { TEST_BOOKING_OPTIONS, TEST_VIDEO_ROOMS } from './harness';
import { createBookingDatabase } from '../src/db';
import { startBookingService, type RunningBooking } from '../src/server';

// Both services on databases whose default time zone is not UTC (as a
// PostgreSQL initialised on a developer's machine has). The pg driver adapter
// only reads and writes timestamptz correctly in a UTC session
// (prisma/orm#26786), so times compared with the database's now() (the
// reconciler's grace period, catalog's claim deadline) must not shift.

const log = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');

/** A fresh database of `service` whose sessions default to `timeZone`. */
async function databaseIn(service: 'catalog' | 'booking', timeZone: string) {
  const db = await createTestDatabase(service);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(`ALTER DATABASE ${db.name} SET timezone TO '${timeZone}'`);
  await client.end();
  return db;
}

describe.each(['America/Los_Angeles', 'Pacific/Auckland'])('with databases in %s', (timeZone) => {
  const stops: (() => Promise<unknown>)[] = [];
  let booking: BookingClient;
  let catalog: CatalogClient;
  let service: RunningBooking;
  let sql: pg.Pool;
  let patient: Patient;
  let slots: Slot[];

  beforeAll(async () => {
    const catalogDb = await databaseIn('catalog', timeZone);
    const bookingDb = await databaseIn('booking', timeZone);
    const { prisma: catalogPrisma, sql: catalogSql } = createCatalogDatabase(catalogDb.url, 5);
    const catalogServer: CarebookGrpcServer = await startCatalogServer({ prisma: catalogPrisma, sql: catalogSql, log, metrics: new Registry() }, { ...TEST_CATALOG_OPTIONS, shutdownGraceMs: 1000 });
    const catalogOfBooking = createCatalogClient(`127.0.0.1:${catalogServer.port}`);
    const { prisma: bookingPrisma, sql: bookingSql } = createBookingDatabase(bookingDb.url, 5);
    service = await startBookingService({ prisma: bookingPrisma, sql: bookingSql, catalog: catalogOfBooking, log, metrics: createMetricsRegistry('booking'), databaseUrl: bookingDb.url, videoRooms: TEST_VIDEO_ROOMS }, { ...TEST_BOOKING_OPTIONS, port: 0 });
    booking = createBookingClient(`127.0.0.1:${service.port}`);
    catalog = createCatalogClient(`127.0.0.1:${catalogServer.port}`);
    sql = inspectionPool(bookingDb.url, 2);
    stops.push(
      async () => [booking.close(), catalog.close()],
      () => service.shutdown(),
      async () => catalogOfBooking.close(),
      () => catalogServer.shutdown(),
      () => Promise.all([bookingPrisma.$disconnect(), catalogPrisma.$disconnect(), sql.end()]),
      () => Promise.all([bookingDb.drop(), catalogDb.drop()]),
    );
    patient = await createPatient(booking);
    ({ slots } = await createSchedule(catalog, 4));
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
  });

  it('really runs the database in that time zone (the fixture took effect)', async () => {
    const { rows } = await sql.query('SHOW timezone');
    expect(rows[0].TimeZone).toBe(timeZone);
  });

  it('books, keeping the slot\'s times and the real creation time', async () => {
    const { appointment } = await booking.bookAppointment({ slotId: slots[0].id, patientId: patient.id, requestId: newRequestId(), reason: '' });
    expect(appointment).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_BOOKED, startTime: slots[0].startTime, endTime: slots[0].endTime });
    expect(Math.abs(+appointment!.createTime! - Date.now())).toBeLessThan(5_000);
    const { rows } = await sql.query('SELECT start_time, abs(extract(epoch FROM create_time - now()))::float8 AS age_s FROM appointment WHERE id = $1', [
      appointment!.id,
    ]);
    expect(rows[0].start_time).toEqual(slots[0].startTime);
    expect(rows[0].age_s).toBeLessThan(5);
  });

  it('lets the reconciler settle only what is older than the grace period by the database\'s clock', async () => {
    // Fixture: PENDING rows as an interrupted booking leaves them, one fresh and one long overdue.
    const fresh = await insertAppointment(sql, { patientId: patient.id, slot: slots[1], ageMs: 0 });
    const overdue = await insertAppointment(sql, { patientId: patient.id, slot: slots[2], ageMs: 60_000 });
    expect(await service.reconciler.reconcileOnce()).toBe(1);
    const { rows } = await sql.query('SELECT id::text, status::text FROM appointment WHERE id = ANY($1) ORDER BY create_time', [[overdue, fresh]]);
    expect(rows).toEqual([
      { id: overdue, status: 'failed' },
      { id: fresh, status: 'pending' },
    ]);
  });

  it('cancels and delivers the release at once', async () => {
    const { appointment } = await booking.bookAppointment({ slotId: slots[3].id, patientId: patient.id, requestId: newRequestId(), reason: '' });
    await booking.cancelAppointment({ id: appointment!.id, reason: '' });
    const { slot } = await catalog.getSlot({ id: slots[3].id });
    expect(slot?.claimId).toBe('');
    const { rows } = await sql.query('SELECT done_time IS NOT NULL AS done FROM slot_release WHERE claim_id = $1', [appointment!.id]);
    expect(rows).toEqual([{ done: true }]);
  });
});
