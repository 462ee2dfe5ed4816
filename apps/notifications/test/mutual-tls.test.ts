import { randomBytes, randomUUID } from 'node:crypto';
import { status, type ChannelCredentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBookingClient, type BookingClient } from '@carebook/proto/booking';
import { withBearerToken } from '@carebook/proto/client';
import { createCatalogClient, type CatalogClient } from '@carebook/proto/catalog';
import { createNotificationsClient, NotificationStatus, type NotificationsClient } from '@carebook/proto/notifications';
import { channelCredentials, clientChannelOptions, ConfigError, type ClientTls } from '@carebook/server';
import {
  createTestDatabase,
  createTestPki,
  expectGrpcError,
  freePort,
  inspectionPool,
  pollUntil,
  startServiceProcess,
  startSmtpSink,
  TEST_BOOKING_INTERNAL_TOKEN,
  TEST_SECRETS_ENV,
  type IssuedCertificate,
  type ServiceProcess,
  type SmtpSink,
  type TestCa,
  type TestPki,
} from '@carebook/testing';
import { createPatient, createSchedule } from '../../booking/test/booking-fixtures';
import { watchFeed } from '../../booking/test/feed-client';
import { loadNotificationsConfig, notificationsTransport } from '../src/config';
import { messageIdOf } from '../src/messages/message-id';
import { TEST_NOTIFY_ENV } from './cluster';
import { startSmsGateway, type SmsGateway } from './sms-gateway';

// notifications under mutual TLS, end to end, as production runs it: catalog,
// booking and notifications each their own process, configured only by
// environment variables naming certificate files. Every server asks its
// callers for certificates. booking's event feed is internal: under mutual
// TLS it needs the internal token and an identity listed in
// BOOKING_INTERNAL_CALLERS, so a notifications process presenting another
// certificate of the same CA hears nothing.

const NOTIFICATIONS_ID = 'spiffe://carebook/notifications';
const UNLISTED_ID = 'spiffe://carebook/reports';

let pki: TestPki;
let ca: TestCa;
let catalog: ServiceProcess;
let booking: ServiceProcess;
let notifications: ServiceProcess;
let smtp: SmtpSink;
let sms: SmsGateway;
const smsSecret = randomBytes(24).toString('base64url');
const cleanups: (() => Promise<unknown>)[] = [];
const clients: { close(): void }[] = [];
let certs: Record<'catalog' | 'booking' | 'bookingClient' | 'notifications' | 'notificationsClient' | 'unlisted' | 'admin' | 'web' | 'foreign' | 'expired', IssuedCertificate>;

/** TLS of a client presenting `cert`; every server's certificate names localhost (and 127.0.0.1, for the health checks). */
const tlsOf = (cert?: IssuedCertificate): ClientTls => ({ ca: ca.cert, cert: cert?.cert, key: cert?.key, serverName: 'localhost' });
const credentialsOf = (cert?: IssuedCertificate): ChannelCredentials => channelCredentials(tlsOf(cert));

function tracked<T extends { close(): void }>(client: T): T {
  clients.push(client);
  return client;
}

const catalogClient = (cert: IssuedCertificate): CatalogClient => tracked(createCatalogClient(catalog.address, clientChannelOptions(tlsOf(cert)), credentialsOf(cert)));
const bookingClient = (cert: IssuedCertificate): BookingClient => tracked(createBookingClient(booking.address, clientChannelOptions(tlsOf(cert)), credentialsOf(cert)));
const notificationsClient = (cert?: IssuedCertificate): NotificationsClient =>
  tracked(createNotificationsClient(notifications.address, clientChannelOptions(tlsOf(cert)), credentialsOf(cert)));
/** A booking client as a feed consumer has it: the internal token, and the certificate `cert`. */
const feedClientAs = (cert: IssuedCertificate): BookingClient =>
  tracked(createBookingClient(booking.address, withBearerToken(TEST_BOOKING_INTERNAL_TOKEN, clientChannelOptions(tlsOf(cert))), credentialsOf(cert)));

/** The environment of a notifications process on `port` over `databaseUrl`, presenting `clientCert` to booking and catalog. */
function notificationsEnv(port: number, databaseUrl: string, clientCert: IssuedCertificate): Record<string, string> {
  return {
    ...TEST_NOTIFY_ENV,
    NOTIFY_REMINDER_OFFSETS: '1h',
    NOTIFICATIONS_PORT: String(port),
    NOTIFICATIONS_DATABASE_URL: databaseUrl,
    NOTIFICATIONS_DB_POOL_SIZE: '6',
    NOTIFICATIONS_TLS_CERT_FILE: certs.notifications.certFile,
    NOTIFICATIONS_TLS_KEY_FILE: certs.notifications.keyFile,
    NOTIFICATIONS_TLS_CA_FILE: ca.certFile,
    BOOKING_ADDRESS: booking.address,
    BOOKING_CLIENT_TLS_CA_FILE: ca.certFile,
    BOOKING_CLIENT_TLS_CERT_FILE: clientCert.certFile,
    BOOKING_CLIENT_TLS_KEY_FILE: clientCert.keyFile,
    BOOKING_CLIENT_TLS_SERVER_NAME: 'localhost',
    CATALOG_ADDRESS: catalog.address,
    CATALOG_CLIENT_TLS_CA_FILE: ca.certFile,
    CATALOG_CLIENT_TLS_CERT_FILE: clientCert.certFile,
    CATALOG_CLIENT_TLS_KEY_FILE: clientCert.keyFile,
    CATALOG_CLIENT_TLS_SERVER_NAME: 'localhost',
    NOTIFY_SMTP_URL: smtp.url,
    NOTIFY_SMS_ADAPTER: 'webhook',
    NOTIFY_SMS_WEBHOOK_URL: sms.url,
    NOTIFY_SMS_WEBHOOK_SECRET: smsSecret,
  };
}

/** A notifications database of its own, dropped after the file. */
async function notificationsDatabase(): Promise<string> {
  const db = await createTestDatabase('notifications');
  cleanups.push(db.drop);
  return db.url;
}

/** The feed cursor of the notifications database at `url`. */
async function cursorOf(url: string): Promise<number> {
  const sql = inspectionPool(url, 1);
  try {
    return Number((await sql.query<{ position: string }>('SELECT position::text FROM feed_cursor')).rows[0].position);
  } finally {
    await sql.end();
  }
}

let notificationsDbUrl: string;

beforeAll(async () => {
  pki = await createTestPki();
  ca = await pki.createCa('carebook');
  const server = (uri: string) => ({ uris: [uri], dns: ['localhost'], ips: ['127.0.0.1'] });
  certs = {
    catalog: await ca.issue('catalog', server('spiffe://carebook/catalog')),
    booking: await ca.issue('booking-server', server('spiffe://carebook/booking')),
    bookingClient: await ca.issue('booking-client', { uris: ['spiffe://carebook/booking'] }),
    notifications: await ca.issue('notifications-server', server(NOTIFICATIONS_ID)),
    notificationsClient: await ca.issue('notifications-client', { uris: [NOTIFICATIONS_ID] }),
    unlisted: await ca.issue('unlisted-client', { uris: [UNLISTED_ID] }),
    admin: await ca.issue('admin', { uris: ['spiffe://carebook/admin'] }),
    web: await ca.issue('web', { uris: ['spiffe://carebook/web'] }),
    foreign: await (await pki.createCa('elsewhere')).issue('foreign', { uris: ['spiffe://carebook/web'] }),
    expired: await ca.issue('expired', { uris: ['spiffe://carebook/web'], expired: true }),
  };
  [smtp, sms] = await Promise.all([startSmtpSink(), startSmsGateway({ secret: smsSecret })]);
  cleanups.push(() => smtp.stop(), () => sms.stop());
  const [catalogDb, bookingDb] = await Promise.all([createTestDatabase('catalog'), createTestDatabase('booking')]);
  cleanups.push(catalogDb.drop, bookingDb.drop);
  notificationsDbUrl = await notificationsDatabase();
  const [catalogPort, bookingPort, notificationsPort] = [await freePort(), await freePort(), await freePort()];
  catalog = await startServiceProcess(
    'catalog',
    catalogPort,
    {
      CATALOG_PORT: String(catalogPort),
      CATALOG_DATABASE_URL: catalogDb.url,
      CATALOG_DB_POOL_SIZE: '5',
      CATALOG_TLS_CERT_FILE: certs.catalog.certFile,
      CATALOG_TLS_KEY_FILE: certs.catalog.keyFile,
      CATALOG_TLS_CA_FILE: ca.certFile,
      CATALOG_ADMIN_CALLERS: 'spiffe://carebook/admin',
      CATALOG_CLAIM_CALLERS: 'spiffe://carebook/booking',
    },
    'source',
    credentialsOf(certs.admin),
  );
  booking = await startServiceProcess(
    'booking',
    bookingPort,
    {
      BOOKING_PORT: String(bookingPort),
      BOOKING_DATABASE_URL: bookingDb.url,
      BOOKING_DB_POOL_SIZE: '6',
      BOOKING_EVENT_POLL_MS: '200',
      BOOKING_TLS_CERT_FILE: certs.booking.certFile,
      BOOKING_TLS_KEY_FILE: certs.booking.keyFile,
      BOOKING_TLS_CA_FILE: ca.certFile,
      BOOKING_INTERNAL_CALLERS: NOTIFICATIONS_ID,
      CATALOG_ADDRESS: catalog.address,
      CATALOG_CLIENT_TLS_CA_FILE: ca.certFile,
      CATALOG_CLIENT_TLS_CERT_FILE: certs.bookingClient.certFile,
      CATALOG_CLIENT_TLS_KEY_FILE: certs.bookingClient.keyFile,
      CATALOG_CLIENT_TLS_SERVER_NAME: 'localhost',
    },
    'source',
    credentialsOf(certs.web),
  );
  notifications = await startServiceProcess(
    'notifications',
    notificationsPort,
    notificationsEnv(notificationsPort, notificationsDbUrl, certs.notificationsClient),
    'source',
    credentialsOf(certs.web),
  );
});

afterAll(async () => {
  clients.forEach((c) => c.close());
  await Promise.all([notifications?.stop(), booking?.stop(), catalog?.stop()]);
  for (const cleanup of cleanups) await cleanup();
  await pki?.remove();
});

describe('notifications under mutual TLS', () => {
  it('sends the confirmations of a booking made over mutual TLS, and lists them to a caller with a certificate', async () => {
    const { slots } = await createSchedule(catalogClient(certs.admin), 1);
    const patients = bookingClient(certs.web);
    const patient = await createPatient(patients, { email: `tls.${randomUUID().slice(0, 8)}@example.org` });
    const { appointment } = await patients.bookAppointment({ slotId: slots[0].id, patientId: patient.id, requestId: randomUUID(), reason: '' });

    const listed = await pollUntil('both confirmations sent', async () => {
      const { notifications: rows } = await notificationsClient(certs.web).listNotifications({ appointmentId: appointment!.id, patientId: '', pageSize: 10, pageToken: '' });
      const sent = rows.filter((n) => n.status === NotificationStatus.NOTIFICATION_STATUS_SENT);
      return sent.length === 2 ? rows : undefined;
    }, 20_000);
    // Two confirmations sent, two reminders an hour before the start still to come.
    expect(listed.map((n) => n.status).sort()).toEqual([
      NotificationStatus.NOTIFICATION_STATUS_SCHEDULED,
      NotificationStatus.NOTIFICATION_STATUS_SCHEDULED,
      NotificationStatus.NOTIFICATION_STATUS_SENT,
      NotificationStatus.NOTIFICATION_STATUS_SENT,
    ]);
    expect(smtp.byMessageId(messageIdOf(appointment!.id, 'confirmation', 'email')).map((m) => m.envelope.to)).toEqual([[patient.email]]);
    expect(sms.messages.filter((m) => m.idempotencyKey === messageIdOf(appointment!.id, 'confirmation', 'sms'))).toHaveLength(1);
    expect(notifications.errorLogs()).toEqual([]);
    expect(await cursorOf(notificationsDbUrl)).toBeGreaterThan(0);
  });

  it("refuses a caller without a certificate at notifications' handshake: UNAVAILABLE", async () => {
    await expectGrpcError(
      notificationsClient(undefined).listNotifications({ appointmentId: randomUUID(), patientId: '', pageSize: 1, pageToken: '' }),
      status.UNAVAILABLE,
    );
  });

  it.each([
    ['a certificate from another CA', () => certs.foreign],
    ['an expired certificate', () => certs.expired],
  ])("refuses %s at notifications' handshake: UNAVAILABLE", async (_, cert) => {
    await expectGrpcError(
      notificationsClient(cert()).listNotifications({ appointmentId: randomUUID(), patientId: '', pageSize: 1, pageToken: '' }),
      status.UNAVAILABLE,
    );
  });

  it("admits to booking's feed the identity BOOKING_INTERNAL_CALLERS lists, and refuses another with PERMISSION_DENIED though it has the token", async () => {
    const listed = await feedClientAs(certs.notificationsClient).listAppointmentEvents({ afterPosition: 0, pageSize: 10 });
    expect(listed.latestPosition).toBeGreaterThan(0);
    await expectGrpcError(feedClientAs(certs.unlisted).listAppointmentEvents({ afterPosition: 0, pageSize: 10 }), status.PERMISSION_DENIED, {
      reason: 'CALLER_NOT_ALLOWED',
    });
  });

  it('streams WatchAppointmentEvents to the listed identity, and ends it at once with PERMISSION_DENIED for another with the token', async () => {
    const listed = watchFeed(feedClientAs(certs.notificationsClient), 0);
    try {
      expect((await listed.waitFor(1)).length).toBeGreaterThan(0);
    } finally {
      listed.cancel();
    }
    const unlisted = watchFeed(feedClientAs(certs.unlisted), 0);
    const ended = await pollUntil('the unlisted watch to end', async () => (unlisted.ended ? unlisted : undefined));
    await expectGrpcError(Promise.reject(ended.error), status.PERMISSION_DENIED, { reason: 'CALLER_NOT_ALLOWED' });
    expect(ended.events).toEqual([]);
  });

  it('leaves a notifications process with an unlisted identity without events, and says why at error level', async () => {
    const url = await notificationsDatabase();
    const port = await freePort();
    const unlisted = await startServiceProcess('notifications', port, notificationsEnv(port, url, certs.unlisted), 'source', credentialsOf(certs.web));
    try {
      const refusal = await pollUntil('the feed refusal logged', async () => unlisted.errorLogs().find((line) => line.includes('PERMISSION_DENIED')), 15_000);
      expect(JSON.parse(refusal)).toMatchObject({ msg: 'dependency unavailable', dependency: 'booking feed' });
      expect(refusal).toContain(UNLISTED_ID);
      expect(await cursorOf(url)).toBe(0);
    } finally {
      await unlisted.stop();
    }
    // The listed process was applying the same feed all along.
    expect(await cursorOf(notificationsDbUrl)).toBeGreaterThan(0);
  });
});

describe('TLS configuration', () => {
  const base = { ...TEST_SECRETS_ENV, NOTIFICATIONS_DATABASE_URL: 'postgresql://localhost/notifications' };
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadNotificationsConfig({ ...base, ...env });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it('is plaintext everywhere by default', () => {
    expect(notificationsTransport(loadNotificationsConfig(base))).toEqual({ tls: undefined, bookingTls: undefined, catalogTls: undefined });
  });

  it('refuses halves of a pair, a CA without a certificate, and client settings without a CA, naming each variable', () => {
    const problems = problemsOf({
      NOTIFICATIONS_TLS_CA_FILE: ca.certFile,
      NOTIFICATIONS_TLS_CERT_FILE: certs.notifications.certFile,
      BOOKING_CLIENT_TLS_CA_FILE: ca.certFile,
      BOOKING_CLIENT_TLS_CERT_FILE: certs.notificationsClient.certFile,
      CATALOG_CLIENT_TLS_SERVER_NAME: 'localhost',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^NOTIFICATIONS_TLS_CERT_FILE is set but NOTIFICATIONS_TLS_KEY_FILE is not/),
      expect.stringMatching(/^NOTIFICATIONS_TLS_CA_FILE \(mutual TLS\) needs NOTIFICATIONS_TLS_CERT_FILE and NOTIFICATIONS_TLS_KEY_FILE/),
      expect.stringMatching(/^BOOKING_CLIENT_TLS_CERT_FILE is set but BOOKING_CLIENT_TLS_KEY_FILE is not/),
      expect.stringMatching(/^CATALOG_CLIENT_TLS_SERVER_NAME needs CATALOG_CLIENT_TLS_CA_FILE/),
    ]);
  });

  it("refuses a key that is not the certificate's, and a file that holds no certificate", () => {
    const problems = problemsOf({
      NOTIFICATIONS_TLS_CERT_FILE: certs.notifications.certFile,
      NOTIFICATIONS_TLS_KEY_FILE: certs.web.keyFile,
      CATALOG_CLIENT_TLS_CA_FILE: certs.web.keyFile,
    });
    expect(problems).toEqual([
      expect.stringMatching(/^CATALOG_CLIENT_TLS_CA_FILE names a file that holds no PEM certificate/),
      'NOTIFICATIONS_TLS_CERT_FILE and NOTIFICATIONS_TLS_KEY_FILE do not match: the key is not the certificate\'s',
    ]);
  });
});
