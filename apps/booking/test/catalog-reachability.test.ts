import { Registry } from 'prom-client';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, outageLog, type CarebookGrpcServer } from '@carebook/server';
import { createHealthClient, createTestDatabase, freePort, pollUntil, TEST_INTERNAL_TOKEN } from '@carebook/testing';
import { catalogGateway } from '../src/catalog-gateway';
import { createCatalogDatabase } from '../../catalog/src/db';
import { startCatalogServer } from '../../catalog/src/server';
import { internalCatalogClient, TEST_CATALOG_OPTIONS } from '../../catalog/test/harness';
import { createPatient, createSchedule, expectRefused, expectRefusedLeavingIntent, insertAppointment, newRequestId, storedAppointment } from './booking-fixtures';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

// booking while catalog is away: bookings are UNAVAILABLE (a retry is safe),
// reads are still served and health stays SERVING, and catalog's
// reachability shows in the metric carebook_dependency_up until catalog is back.

let sys: BookingUnderTest;
let catalogPort: number;

beforeAll(async () => {
  catalogPort = await freePort();
  // Nothing listens there yet.
  sys = await startBookingUnderTest({ catalogAddress: `127.0.0.1:${catalogPort}`, catalogTimeoutMs: 500 });
});
afterAll(() => sys?.close());

/** The value of carebook_dependency_up for catalog, scraped over HTTP from booking's /metrics. */
async function catalogUp(): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${sys.service.metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('carebook_dependency_up{') && l.includes('dependency="catalog"'));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

it('answers UNAVAILABLE while catalog is unreachable, stays SERVING for reads, and reports catalog down until it answers again', async () => {
  const patient = await createPatient(sys.client);
  expect(await catalogUp()).toBe(1);

  const slotId = '7c9e6679-7425-40de-944b-e07fc1f99a11';
  await expectRefusedLeavingIntent(
    sys,
    slotId,
    () => sys.client.bookAppointment({ slotId, patientId: patient.id, requestId: newRequestId(), reason: '' }),
    status.UNAVAILABLE,
    { reason: 'CATALOG_UNAVAILABLE' },
  );
  expect(await catalogUp()).toBe(0);
  const health = createHealthClient(`127.0.0.1:${sys.service.port}`);
  try {
    expect(await health.check('')).toBe('SERVING');
  } finally {
    health.close();
  }
  expect((await sys.client.getPatient({ id: patient.id })).patient?.id).toBe(patient.id);

  // catalog comes up on the address booking was given.
  const db = await createTestDatabase('catalog');
  const { prisma, sql } = createCatalogDatabase(db.url, 5);
  let catalog: CarebookGrpcServer | undefined;
  try {
    catalog = await startCatalogServer({ prisma, sql, log: createLogger('catalog', 'silent'), metrics: new Registry() }, { ...TEST_CATALOG_OPTIONS, port: catalogPort });
    // Its own subchannel: booking's to the same address may still be backing off.
    // With no booking traffic, the reconciler's pass probes catalog and sees it back.
    await pollUntil('catalog seen up again', async () => (await sys.service.reconciler.reconcileOnce(), (await catalogUp()) === 1 ? true : undefined), 20_000, 200);
    const seeder = internalCatalogClient(`127.0.0.1:${catalogPort}`, { 'grpc.use_local_subchannel_pool': 1 });
    const { slots } = await createSchedule(seeder, 1);
    seeder.close();
    const booked = await pollUntil(
      'a booking once catalog is back',
      async () =>
        sys.client.bookAppointment({ slotId: slots[0].id, patientId: patient.id, requestId: 'after-outage', reason: '' }).then(
          (r) => r.appointment,
          () => undefined,
        ),
      20_000,
      200,
    );
    expect(booked?.slotId).toBe(slots[0].id);
    expect(await catalogUp()).toBe(1);
  } finally {
    await catalog?.shutdown();
    await prisma.$disconnect();
    await db.drop();
  }
});

describe('a booking whose internal token catalog refuses', () => {
  let misconfigured: BookingUnderTest;
  beforeAll(async () => {
    misconfigured = await startBookingUnderTest({ catalogInternalToken: 'w'.repeat(43) });
  });
  afterAll(() => misconfigured?.close());

  it('answers UNAVAILABLE CATALOG_REFUSED_CREDENTIAL, reports catalog down, and fails no PENDING appointment it cannot judge', async () => {
    const patient = await createPatient(misconfigured.client);
    const { slots } = await createSchedule(misconfigured.catalog.client, 2);
    await expectRefused(
      misconfigured,
      () => misconfigured.client.bookAppointment({ slotId: slots[0].id, patientId: patient.id, requestId: newRequestId(), reason: '' }),
      status.UNAVAILABLE,
      { reason: 'CATALOG_REFUSED_CREDENTIAL' },
    );
    const text = await (await fetch(`http://127.0.0.1:${misconfigured.service.metricsPort}/metrics`)).text();
    expect(text).toMatch(/carebook_dependency_up\{[^}]*dependency="catalog"[^}]*\} 0/);
    // An overdue PENDING appointment whose claim did land: the reconciler cannot see the claim, so it waits.
    const id = await insertAppointment(misconfigured.sql, { patientId: patient.id, slot: slots[1], ageMs: 60_000 });
    await misconfigured.catalog.client.claimSlot({ slotId: slots[1].id, claimId: id });
    expect(await misconfigured.service.reconciler.reconcileOnce()).toBe(0);
    expect((await storedAppointment(misconfigured.sql, id)).status).toBe('pending');
  });
});

it("counts catalog's own answers, such as a claim past its deadline, as catalog reachable", async () => {
  const reachability = outageLog(createLogger('test', 'silent'), 'catalog');
  const other = await startBookingUnderTest();
  const gateway = catalogGateway(other.catalogClientOfBooking, { timeoutMs: 1000, internalToken: TEST_INTERNAL_TOKEN, reachability });
  try {
    const { slots } = await createSchedule(other.catalog.client, 1);
    expect(await gateway.claimSlot(slots[0].id, '7c9e6679-7425-40de-944b-e07fc1f99a11', new Date(Date.now() - 60_000))).toEqual({ claimed: false, why: 'late' });
    expect(reachability.down).toBe(false);
  } finally {
    await other.close();
  }
});
