import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { createBookingClient, type BookingClient } from '@carebook/proto/booking';
import { createCatalogClient, type CatalogClient } from '@carebook/proto/catalog';
import { createNotificationsClient, type NotificationsClient } from '@carebook/proto/notifications';
import {
  createTestDatabase,
  freePort,
  inspectionPool,
  startServiceProcess,
  startSmtpSink,
  type ServiceProcess,
  type SmtpSink,
} from '@carebook/testing';
import { startSmsGateway, type SmsGateway } from './sms-gateway';

// catalog, booking and notifications as separate OS processes over real
// sockets, each on its own database, with a real SMTP server and SMS
// gateway. Reminder offsets are short (seconds) and slots a few seconds
// ahead: the clock is the real one throughout, nothing is faked.

/** What notifications is given in these tests unless a test says otherwise. */
export const TEST_NOTIFY_ENV: Record<string, string> = {
  NOTIFY_REMINDER_OFFSETS: '3s',
  // Short, so that a due message waits at most 0.1 s for an idle worker.
  NOTIFY_POLL_INTERVAL_MS: '100',
  NOTIFY_WORKER_STALE_MS: '3000',
  NOTIFY_RETRY_MAX_BACKOFF_MS: '2000',
  NOTIFY_FEED_MAX_BACKOFF_MS: '500',
  NOTIFY_SEND_CONCURRENCY: '8',
};

export interface NotifyCluster {
  catalog: CatalogClient;
  booking: BookingClient;
  bookingPort: number;
  /** Direct SQL on the booking database. */
  bookingSql: pg.Pool;
  /** A client of notifications replica 0. */
  notifications: NotificationsClient;
  smtp: SmtpSink;
  sms: SmsGateway;
  /** Direct SQL on the notifications database. */
  sql: pg.Pool;
  databaseUrl: string;
  replicas: ServiceProcess[];
  /** The environment replica processes are started with. */
  notifyEnv(port: number): Record<string, string>;
  /** Starts one more notifications replica (or replica `i` again, on its port). */
  startReplica(i?: number, env?: Record<string, string>): Promise<ServiceProcess>;
  /** Stops booking (SIGTERM) and starts it again on its port: its start-up deletes the events past retention. */
  restartBooking(): Promise<void>;
  close(): Promise<void>;
}

/** Starts catalog, booking, the SMTP sink, the SMS gateway and `replicas` notifications processes (with `env` on top of TEST_NOTIFY_ENV). */
export async function startNotifyCluster(options: { replicas?: number; env?: Record<string, string> } = {}): Promise<NotifyCluster> {
  const [catalogDb, bookingDb, notifyDb] = await Promise.all([createTestDatabase('catalog'), createTestDatabase('booking'), createTestDatabase('notifications')]);
  const [catalogPort, bookingPort] = await Promise.all([freePort(), freePort()]);
  const smsSecret = randomBytes(24).toString('base64url');
  const [smtp, sms] = await Promise.all([startSmtpSink(), startSmsGateway({ secret: smsSecret })]);
  const catalogProcess = await startServiceProcess('catalog', catalogPort, { CATALOG_PORT: String(catalogPort), CATALOG_DATABASE_URL: catalogDb.url, CATALOG_DB_POOL_SIZE: '8' });
  const bookingEnv = {
    BOOKING_PORT: String(bookingPort),
    BOOKING_DATABASE_URL: bookingDb.url,
    BOOKING_DB_POOL_SIZE: '10',
    CATALOG_ADDRESS: `127.0.0.1:${catalogPort}`,
    BOOKING_EVENT_POLL_MS: '200',
  };
  let bookingProcess = await startServiceProcess('booking', bookingPort, bookingEnv);
  const ports: number[] = [];
  const notifyEnv = (port: number) => ({
    NOTIFICATIONS_PORT: String(port),
    NOTIFICATIONS_DATABASE_URL: notifyDb.url,
    NOTIFICATIONS_DB_POOL_SIZE: '12',
    NOTIFICATIONS_SHUTDOWN_GRACE_MS: '2000',
    BOOKING_ADDRESS: `127.0.0.1:${bookingPort}`,
    CATALOG_ADDRESS: `127.0.0.1:${catalogPort}`,
    NOTIFY_SMTP_URL: smtp.url,
    NOTIFY_SMS_ADAPTER: 'webhook',
    NOTIFY_SMS_WEBHOOK_URL: sms.url,
    NOTIFY_SMS_WEBHOOK_SECRET: smsSecret,
    ...TEST_NOTIFY_ENV,
    ...options.env,
  });
  const cluster: NotifyCluster = {
    catalog: createCatalogClient(`127.0.0.1:${catalogPort}`),
    booking: createBookingClient(`127.0.0.1:${bookingPort}`),
    bookingPort,
    bookingSql: inspectionPool(bookingDb.url, 2),
    notifications: undefined as unknown as NotificationsClient,
    smtp,
    sms,
    sql: inspectionPool(notifyDb.url, 4),
    databaseUrl: notifyDb.url,
    replicas: [],
    notifyEnv,
    async startReplica(i = cluster.replicas.length, env = {}) {
      ports[i] ??= await freePort();
      const replica = await startServiceProcess('notifications', ports[i], { ...notifyEnv(ports[i]), ...env });
      cluster.replicas[i] = replica;
      return replica;
    },
    async restartBooking() {
      await bookingProcess.stop('SIGTERM');
      bookingProcess = await startServiceProcess('booking', bookingPort, bookingEnv);
    },
    async close() {
      cluster.notifications?.close();
      cluster.catalog.close();
      cluster.booking.close();
      await Promise.all([...cluster.replicas, bookingProcess, catalogProcess].map((p) => p.stop('SIGKILL')));
      await Promise.all([cluster.sql.end(), cluster.bookingSql.end()]);
      await Promise.all([smtp.stop(), sms.stop()]);
      await Promise.all([catalogDb.drop(), bookingDb.drop(), notifyDb.drop()]);
    },
  };
  for (let i = 0; i < (options.replicas ?? 1); i++) await cluster.startReplica(i);
  if (cluster.replicas.length > 0) cluster.notifications = createNotificationsClient(cluster.replicas[0].address);
  return cluster;
}
