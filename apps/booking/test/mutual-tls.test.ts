import { status, type ChannelCredentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentStatus, createBookingClient, type BookingClient } from '@carebook/proto/booking';
import { createCatalogClient, SlotStatus, type CatalogClient } from '@carebook/proto/catalog';
import { channelCredentials, clientChannelOptions, type ClientTls } from '@carebook/server';
import {
  createTestDatabase,
  createTestPki,
  expectGrpcError,
  freePort,
  inspectionPool,
  startServiceProcess,
  type IssuedCertificate,
  type ServiceProcess,
  type TestCa,
  type TestPki,
} from '@carebook/testing';
import { createSchedule, createPatient, newRequestId } from './booking-fixtures';

// booking → catalog over mutual TLS, end to end, as production runs them:
// each service its own process, configured only by environment variables
// naming certificate files. booking's server asks its callers for
// certificates too; catalog admits booking's identity to claims, and
// booking its admins to consultations' doctor links.

let pki: TestPki;
let ca: TestCa;
let catalog: ServiceProcess;
let booking: ServiceProcess;
const drops: (() => Promise<void>)[] = [];
const clients: { close(): void }[] = [];

/** TLS of a test client presenting `cert`; the servers' certificates name localhost (and 127.0.0.1, for the health checks of startServiceProcess). */
const tlsOf = (cert?: IssuedCertificate): ClientTls => ({ ca: ca.cert, cert: cert?.cert, key: cert?.key, serverName: 'localhost' });
const credentialsOf = (cert?: IssuedCertificate): ChannelCredentials => channelCredentials(tlsOf(cert));

function catalogClient(cert: IssuedCertificate): CatalogClient {
  const client = createCatalogClient(catalog.address, clientChannelOptions(tlsOf(cert)), credentialsOf(cert));
  clients.push(client);
  return client;
}

function bookingClient(cert?: IssuedCertificate): BookingClient {
  const client = createBookingClient(booking.address, clientChannelOptions(tlsOf(cert)), credentialsOf(cert));
  clients.push(client);
  return client;
}

let admin: IssuedCertificate;
let web: IssuedCertificate;
/** The web front end's identity, signed by another CA. */
let foreign: IssuedCertificate;
/** The web front end's identity, signed by the CA but long expired. */
let expired: IssuedCertificate;
/** booking's database, to show that a refused caller wrote nothing. */
let bookingSql: ReturnType<typeof inspectionPool>;

beforeAll(async () => {
  pki = await createTestPki();
  ca = await pki.createCa('carebook');
  const [catalogServer, bookingServer, bookingClientCert] = [
    await ca.issue('catalog', { uris: ['spiffe://carebook/catalog'], dns: ['localhost'], ips: ['127.0.0.1'] }),
    await ca.issue('booking-server', { uris: ['spiffe://carebook/booking'], dns: ['localhost'], ips: ['127.0.0.1'] }),
    await ca.issue('booking-client', { uris: ['spiffe://carebook/booking'] }),
  ];
  admin = await ca.issue('admin', { uris: ['spiffe://carebook/admin'] });
  web = await ca.issue('web', { uris: ['spiffe://carebook/web'] });
  foreign = await (await pki.createCa('elsewhere')).issue('foreign', { uris: ['spiffe://carebook/web'] });
  expired = await ca.issue('expired', { uris: ['spiffe://carebook/web'], expired: true });
  const [catalogDb, bookingDb] = await Promise.all([createTestDatabase('catalog'), createTestDatabase('booking')]);
  drops.push(catalogDb.drop, bookingDb.drop);
  bookingSql = inspectionPool(bookingDb.url, 1);
  drops.push(() => bookingSql.end());
  const [catalogPort, bookingPort] = [await freePort(), await freePort()];
  catalog = await startServiceProcess(
    'catalog',
    catalogPort,
    {
      CATALOG_PORT: String(catalogPort),
      CATALOG_DATABASE_URL: catalogDb.url,
      CATALOG_DB_POOL_SIZE: '5',
      CATALOG_TLS_CERT_FILE: catalogServer.certFile,
      CATALOG_TLS_KEY_FILE: catalogServer.keyFile,
      CATALOG_TLS_CA_FILE: ca.certFile,
      CATALOG_ADMIN_CALLERS: 'spiffe://carebook/admin',
      CATALOG_CLAIM_CALLERS: 'spiffe://carebook/booking',
    },
    'source',
    credentialsOf(admin),
  );
  booking = await startServiceProcess(
    'booking',
    bookingPort,
    {
      BOOKING_PORT: String(bookingPort),
      BOOKING_DATABASE_URL: bookingDb.url,
      BOOKING_DB_POOL_SIZE: '5',
      BOOKING_TLS_CERT_FILE: bookingServer.certFile,
      BOOKING_TLS_KEY_FILE: bookingServer.keyFile,
      BOOKING_TLS_CA_FILE: ca.certFile,
      CATALOG_ADDRESS: catalog.address,
      CATALOG_CLIENT_TLS_CA_FILE: ca.certFile,
      CATALOG_CLIENT_TLS_CERT_FILE: bookingClientCert.certFile,
      CATALOG_CLIENT_TLS_KEY_FILE: bookingClientCert.keyFile,
      CATALOG_CLIENT_TLS_SERVER_NAME: 'localhost',
      BOOKING_ADMIN_CALLERS: 'spiffe://carebook/admin',
    },
    'source',
    credentialsOf(web),
  );
});

afterAll(async () => {
  clients.forEach((c) => c.close());
  await Promise.all([booking?.stop(), catalog?.stop()]);
  for (const drop of drops) await drop();
  await pki?.remove();
});

describe('booking and catalog under mutual TLS', () => {
  it('book a slot end to end: the caller to booking, booking to catalog, each with its certificate', async () => {
    const { slots } = await createSchedule(catalogClient(admin), 1);
    const patients = bookingClient(web);
    const patient = await createPatient(patients);
    const { appointment } = await patients.bookAppointment({ slotId: slots[0].id, patientId: patient.id, requestId: newRequestId(), reason: '' });
    expect(appointment?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);
    const { slot } = await catalogClient(web).getSlot({ id: slots[0].id });
    expect(slot?.status).toBe(SlotStatus.SLOT_STATUS_BOOKED);
    expect(booking.errorLogs()).toEqual([]);
  });

  it("refuse a caller without a certificate at booking's handshake: UNAVAILABLE", async () => {
    await expectGrpcError(bookingClient(undefined).getPatient({ id: '00000000-0000-4000-8000-000000000000' }), status.UNAVAILABLE);
  });

  it.each([
    ['a certificate from another CA', () => foreign],
    ['an expired certificate', () => expired],
  ])("refuse %s at booking's handshake: UNAVAILABLE, and nothing written", async (_, cert) => {
    const patients = async () => (await bookingSql.query<{ count: number }>('SELECT count(*)::int AS count FROM patient')).rows[0].count;
    const before = await patients();
    const caller = bookingClient(cert());
    await expectGrpcError(createPatient(caller), status.UNAVAILABLE);
    await expectGrpcError(caller.getPatient({ id: '00000000-0000-4000-8000-000000000000' }), status.UNAVAILABLE);
    expect(await patients()).toBe(before);
  });

  it('keep catalog writes to its admins: the web front end may read but not write', async () => {
    const asWeb = catalogClient(web);
    await expectGrpcError(createSchedule(asWeb, 1), status.PERMISSION_DENIED, { reason: 'CALLER_NOT_ALLOWED' });
    expect((await asWeb.listClinics({ pageSize: 10, pageToken: '' })).clinics.length).toBeGreaterThan(0);
  });

  it("keep a consultation's doctor link to booking's admins (clinic staff): the web front end is refused before any read", async () => {
    const appointmentId = '00000000-0000-4000-8000-000000000000';
    await expectGrpcError(bookingClient(web).getConsultation({ appointmentId }), status.PERMISSION_DENIED, { reason: 'CALLER_NOT_ALLOWED' });
    await expectGrpcError(bookingClient(admin).getConsultation({ appointmentId }), status.NOT_FOUND, { reason: 'APPOINTMENT_NOT_FOUND' });
  });
});
