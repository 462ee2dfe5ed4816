import type pg from 'pg';
import { runMigrations } from 'graphile-worker';
import { createBookingClient, type BookingClient } from '@carebook/proto/booking';
import { withBearerToken } from '@carebook/proto/client';
import { createCatalogClient, type CatalogClient } from '@carebook/proto/catalog';
import { createLogger, createMetricsRegistry } from '@carebook/server';
import { createTestDatabase, inspectionPool, startSmtpSink, TEST_BOOKING_INTERNAL_TOKEN, TEST_PAGE_TOKEN_KEYS, type SmtpSink } from '@carebook/testing';
import { startBookingUnderTest, type BookingUnderTest } from '../../booking/test/harness';
import { emailSender } from '../src/channels/email';
import { logSender } from '../src/channels/log';
import { createNotificationsDatabase } from '../src/db';
import { startNotificationsService, type NotificationsServiceOptions } from '../src/server';

// catalog, booking and notifications in this test process, each on its own
// database and port, for what a process boundary would hide: one tracer
// provider sees the spans of all three. E-mail goes to a real SMTP sink, SMS
// to the log. The cluster (cluster.ts) runs them as processes instead.

export interface NotificationsInProcess {
  /** booking and the catalog it calls, with their test clients. */
  booking: BookingUnderTest;
  smtp: SmtpSink;
  /** Direct SQL on the notifications database. */
  sql: pg.Pool;
  close(): Promise<void>;
}

const TEST_OPTIONS: Omit<NotificationsServiceOptions, 'reminderOffsetsMs'> = {
  host: '127.0.0.1',
  port: 0,
  shutdownGraceMs: 2_000,
  pageTokenKeys: TEST_PAGE_TOKEN_KEYS,
  maxRequestBytes: 64 * 1024,
  maxAttempts: 10,
  retryMaxBackoffMs: 2_000,
  jobConcurrency: 4,
  sendConcurrency: 4,
  workerStaleMs: 3_000,
  pollIntervalMs: 100,
  feedMaxBackoffMs: 500,
  bookingTimeoutMs: 2_000,
  catalogTimeoutMs: 2_000,
  placeTtlMs: 60_000,
};

/** Starts catalog, booking, an SMTP sink and notifications (reminders `reminderOffsetsMs` before each start) in this process. */
export async function startNotificationsInProcess(reminderOffsetsMs: number[]): Promise<NotificationsInProcess> {
  const booking = await startBookingUnderTest();
  const smtp = await startSmtpSink();
  const db = await createTestDatabase('notifications');
  const { prisma, sql: servicePool } = createNotificationsDatabase(db.url, 10);
  await runMigrations({ pgPool: servicePool });
  const log = createLogger('notifications', process.env.TEST_LOG_LEVEL ?? 'silent');
  const bookingClient: BookingClient = createBookingClient(`127.0.0.1:${booking.service.port}`, withBearerToken(TEST_BOOKING_INTERNAL_TOKEN));
  const catalogClient: CatalogClient = createCatalogClient(booking.catalog.address);
  const senders = { email: emailSender({ smtpUrl: smtp.url, from: 'carebook <no-reply@carebook.test>', log, maxConnections: TEST_OPTIONS.sendConcurrency }), sms: logSender(log) };
  const service = await startNotificationsService(
    { prisma, sql: servicePool, booking: bookingClient, catalog: catalogClient, senders, log, metrics: createMetricsRegistry('notifications') },
    { ...TEST_OPTIONS, reminderOffsetsMs },
  );
  const sql = inspectionPool(db.url, 2);
  return {
    booking,
    smtp,
    sql,
    async close() {
      await service.shutdown();
      await Promise.all([senders.email.close(), senders.sms.close()]);
      bookingClient.close();
      catalogClient.close();
      await prisma.$disconnect();
      await sql.end();
      await booking.close();
      await smtp.stop();
      await db.drop();
    },
  };
}
