import { randomUUID } from 'node:crypto';
import { Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogServiceService, createCatalogClient, withBearerToken, type CatalogClient, type Doctor, type Slot } from '@carebook/proto/catalog';
import { channelCredentials, clientChannelOptions } from '@carebook/server';
import {
  callRaw,
  createRawClient,
  createTestPki,
  expectGrpcError,
  TEST_INTERNAL_TOKEN,
  type IssuedCertificate,
  type TestCa,
  type TestPki,
} from '@carebook/testing';
import { CATALOG_ACCESS } from '../src/access';
import { consecutiveSlots, countRows, createClinic, createDoctor, expectRefused, hoursFromNow, startCatalogUnderTest, tableSnapshot, type CatalogUnderTest } from './harness';

// catalog under mutual TLS, on a real socket: the handshake admits only
// certificates the deployment's CA signed and that are valid now; then each
// RPC's rule (src/access.ts) is checked against the caller's URI SAN: writes
// for CATALOG_ADMIN_CALLERS, claims and releases for CATALOG_CLAIM_CALLERS
// (with the internal token as well), reads for anyone admitted.

const BOOKING = 'spiffe://carebook/booking';
const ADMIN = 'spiffe://carebook/admin';
const WEB = 'spiffe://carebook/web';

let pki: TestPki;
let ca: TestCa;
let catalog: CatalogUnderTest;
let doctor: Doctor;
let nextHour = 300;
const clients: CatalogClient[] = [];

/** A catalog client presenting `cert` (none: TLS without a client certificate), with the internal token if `token`. */
function clientOf(cert: IssuedCertificate | undefined, token = false, address = catalog.address): CatalogClient {
  const tls = { ca: ca.cert, cert: cert?.cert, key: cert?.key, serverName: 'localhost' };
  const client = createCatalogClient(address, token ? withBearerToken(TEST_INTERNAL_TOKEN, clientChannelOptions(tls)) : clientChannelOptions(tls), channelCredentials(tls));
  clients.push(client);
  return client;
}

let booking: CatalogClient;
let bookingWithoutToken: CatalogClient;
let admin: CatalogClient;
let adminWithToken: CatalogClient;
let web: CatalogClient;
let webWithToken: CatalogClient;
let certificates: Record<'booking' | 'admin' | 'web' | 'expired' | 'foreign' | 'anonymous' | 'twoNames', IssuedCertificate>;

beforeAll(async () => {
  pki = await createTestPki();
  ca = await pki.createCa('carebook');
  const otherCa = await pki.createCa('elsewhere');
  const server = await ca.issue('catalog', { uris: ['spiffe://carebook/catalog'], dns: ['localhost'], ips: ['127.0.0.1'] });
  certificates = {
    booking: await ca.issue('booking', { uris: [BOOKING] }),
    admin: await ca.issue('admin', { uris: [ADMIN] }),
    web: await ca.issue('web', { uris: [WEB] }),
    anonymous: await ca.issue('anonymous', { dns: ['somewhere.example'] }),
    expired: await ca.issue('expired', { uris: [BOOKING], expired: true }),
    foreign: await otherCa.issue('foreign', { uris: [BOOKING] }),
    // A workload that got an extra SAN signed: listed under one of its names.
    twoNames: await ca.issue('two-names', { uris: [WEB, BOOKING] }),
  };
  catalog = await startCatalogUnderTest({ tls: { cert: server.cert, key: server.key, ca: ca.cert }, callers: { admin: [ADMIN], internal: [BOOKING] } });
  booking = clientOf(certificates.booking, true);
  bookingWithoutToken = clientOf(certificates.booking);
  admin = clientOf(certificates.admin);
  adminWithToken = clientOf(certificates.admin, true);
  web = clientOf(certificates.web);
  webWithToken = clientOf(certificates.web, true);
  doctor = await createDoctor(admin, (await createClinic(admin)).id);
});

afterAll(async () => {
  clients.forEach((c) => c.close());
  await catalog?.close();
  await pki?.remove();
});

async function openSlot(): Promise<Slot> {
  const { slots } = await admin.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(hoursFromNow(++nextHour), 1, 30) });
  return slots[0];
}

describe('the TLS handshake', () => {
  it.each([
    ['no client certificate', () => clientOf(undefined)],
    ['a certificate from another CA', () => clientOf(certificates.foreign, true)],
    ['an expired certificate', () => clientOf(certificates.expired, true)],
    ['a plaintext connection', () => createCatalogClient(catalog.address, withBearerToken(TEST_INTERNAL_TOKEN))],
  ])('refuses %s: UNAVAILABLE on the client, nothing read or written', async (_, client) => {
    const caller = client();
    clients.push(caller);
    await expectRefused(catalog, () => caller.createClinic({ clinic: { displayName: 'X', timeZone: 'UTC', address: 'Y' } as never }), status.UNAVAILABLE, {});
    await expectGrpcError(caller.getClinic({ id: randomUUID() }), status.UNAVAILABLE);
  });
});

describe('reads', () => {
  it('are open to any caller the CA vouches for, listed or not, even without a URI SAN', async () => {
    const slot = await openSlot();
    for (const caller of [web, booking, admin, clientOf(certificates.anonymous)]) {
      expect((await caller.getSlot({ id: slot.id })).slot?.id).toBe(slot.id);
      expect((await caller.getDoctor({ id: doctor.id })).doctor?.id).toBe(doctor.id);
    }
  });
});

describe('admin writes', () => {
  const adminMethods = Object.entries(CATALOG_ACCESS).filter(([, rule]) => rule === 'admin');

  it.each([
    ['booking (a claim caller, with the token)', BOOKING, 'booking'],
    ['an unlisted caller', WEB, 'web'],
  ] as const)('are refused to %s with PERMISSION_DENIED CALLER_NOT_ALLOWED, each of them, before the request is read, writing nothing', async (_, identity, name) => {
    const raw = createRawClient(catalog.address, channelCredentials({ ca: ca.cert, cert: certificates[name].cert, key: certificates[name].key }), clientChannelOptions({ ca: ca.cert, serverName: 'localhost' }));
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${TEST_INTERNAL_TOKEN}`);
    try {
      const before = await tableSnapshot(catalog.sql);
      for (const [key] of adminMethods) {
        const reply = await callRaw(raw, CatalogServiceService[key as keyof typeof CatalogServiceService].path, new Uint8Array(), metadata);
        expect({ key, code: status[reply.code], reason: reply.reason }).toEqual({ key, code: 'PERMISSION_DENIED', reason: 'CALLER_NOT_ALLOWED' });
        expect(reply.details).toContain(identity);
      }
      expect(await tableSnapshot(catalog.sql)).toEqual(before);
    } finally {
      raw.close();
    }
  });

  it('refuse a real write by a non-admin, naming the caller in the error metadata', async () => {
    const err = await expectRefused(catalog, () => createClinic(web), status.PERMISSION_DENIED, { reason: 'CALLER_NOT_ALLOWED' });
    expect(err.errorInfo?.metadata).toEqual({ caller: JSON.stringify(WEB), rule: 'admin' });
  });

  it('succeed for a listed admin', async () => {
    const before = await countRows(catalog.sql);
    await createClinic(admin);
    expect((await countRows(catalog.sql)).clinics).toBe(before.clinics + 1);
  });
});

describe('claims and releases', () => {
  it('succeed for the listed claim caller with the token, and show it the claim id', async () => {
    const slot = await openSlot();
    const claimId = randomUUID();
    expect((await booking.claimSlot({ slotId: slot.id, claimId })).slot?.claimId).toBe(claimId);
    expect((await booking.getSlot({ id: slot.id })).slot?.claimId).toBe(claimId);
    await booking.releaseSlot({ slotId: slot.id, claimId });
  });

  it('refuse a certificate with several URI SANs, one of them listed: a certificate names one identity', async () => {
    const slot = await openSlot();
    await expectRefused(catalog, () => clientOf(certificates.twoNames, true).claimSlot({ slotId: slot.id, claimId: randomUUID() }), status.PERMISSION_DENIED, {
      reason: 'CALLER_NOT_ALLOWED',
    });
  });

  it('need the token as well as the identity: the listed caller without it is UNAUTHENTICATED', async () => {
    const slot = await openSlot();
    await expectRefused(catalog, () => bookingWithoutToken.claimSlot({ slotId: slot.id, claimId: randomUUID() }), status.UNAUTHENTICATED, {
      reason: 'CREDENTIAL_MISSING',
    });
  });

  it.each([
    ['an unlisted caller', () => webWithToken, WEB],
    ['an admin', () => adminWithToken, ADMIN],
  ])('are refused to %s holding the token, with PERMISSION_DENIED, leaving the slot alone', async (_, caller, identity) => {
    const slot = await openSlot();
    const claimId = randomUUID();
    const claim = await expectRefused(catalog, () => caller().claimSlot({ slotId: slot.id, claimId }), status.PERMISSION_DENIED, { reason: 'CALLER_NOT_ALLOWED' });
    expect(claim.errorInfo?.metadata).toEqual({ caller: JSON.stringify(identity), rule: 'internal' });
    await booking.claimSlot({ slotId: slot.id, claimId });
    await expectRefused(catalog, () => caller().releaseSlot({ slotId: slot.id, claimId }), status.PERMISSION_DENIED, { reason: 'CALLER_NOT_ALLOWED' });
    // Nor does the token alone show an unlisted caller whose appointment holds a slot.
    expect((await caller().getSlot({ id: slot.id })).slot?.claimId).toBe('');
  });
});

describe('empty caller lists', () => {
  it('close the admin and internal methods to everyone, and leave reads open', async () => {
    const server = await ca.issue('catalog-closed', { dns: ['localhost'], ips: ['127.0.0.1'] });
    const closed = await startCatalogUnderTest({ tls: { cert: server.cert, key: server.key, ca: ca.cert } });
    try {
      const asAdmin = clientOf(certificates.admin, true, closed.address);
      const asBooking = clientOf(certificates.booking, true, closed.address);
      await expectRefused(closed, () => createClinic(asAdmin), status.PERMISSION_DENIED, { reason: 'CALLER_NOT_ALLOWED' });
      await expectRefused(closed, () => asBooking.claimSlot({ slotId: randomUUID(), claimId: randomUUID() }), status.PERMISSION_DENIED, { reason: 'CALLER_NOT_ALLOWED' });
      expect((await asBooking.listClinics({ pageSize: 10, pageToken: '' })).clinics).toEqual([]);
    } finally {
      await closed.close();
    }
  });
});
