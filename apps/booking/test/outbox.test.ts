import { Registry } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppointmentStatus, type Patient } from '@carebook/proto/booking';
import { createCatalogClient, type Slot } from '@carebook/proto/catalog';
import { createLogger, type CarebookGrpcServer } from '@carebook/server';
import { createTestDatabase, freePort, pollUntil, inspectionPool } from '@carebook/testing';
import { createCatalogDatabase } from '../../catalog/src/db';
import { enqueueRelease, releasesRepo } from '../src/releases/repo';
import { startCatalogServer } from '../../catalog/src/server';
import { internalCatalogClient, searchRequest, TEST_CATALOG_OPTIONS, type CatalogUnderTest } from '../../catalog/test/harness';
import { book, createPatient, createSchedule, releasesOf, storedSlot, type Schedule } from './booking-fixtures';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

// The outbox of slot releases: a cancellation owes catalog a ReleaseSlot in
// the same transaction, tries it at once, and the dispatcher retries it until
// catalog confirms. Catalog here runs on a fixed port so it can be stopped
// and started again over the same database, as a restarted process would.

type RestartableCatalog = CatalogUnderTest & { stop(): Promise<void>; start(): Promise<void> };

async function startRestartableCatalog(): Promise<RestartableCatalog> {
  const db = await createTestDatabase('catalog');
  const { prisma, sql: serviceSql } = createCatalogDatabase(db.url, 10);
  const log = createLogger('catalog', process.env.TEST_LOG_LEVEL ?? 'silent');
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  let server: CarebookGrpcServer | undefined;
  const catalog: RestartableCatalog = {
    address,
    client: internalCatalogClient(address),
    publicClient: createCatalogClient(address),
    prisma,
    sql: inspectionPool(db.url, 4),
    databaseUrl: db.url,
    newClient: (options = {}) => internalCatalogClient(address, { 'grpc.use_local_subchannel_pool': 1, ...options }),
    async start() {
      server = await startCatalogServer({ prisma, sql: serviceSql, log, metrics: new Registry() }, { ...TEST_CATALOG_OPTIONS, port });
    },
    async stop() {
      await server?.shutdown();
      server = undefined;
    },
    async close() {
      catalog.client.close();
      catalog.publicClient.close();
      await catalog.stop();
      await prisma.$disconnect();
      await catalog.sql.end();
      await db.drop();
    },
  };
  await catalog.start();
  return catalog;
}

let catalog: RestartableCatalog;
let sys: BookingUnderTest;
let schedule: Schedule;
let patient: Patient;
let used = 0;
const freshSlot = (): Slot => schedule.slots[used++];

beforeAll(async () => {
  catalog = await startRestartableCatalog();
  sys = await startBookingUnderTest({ catalog, catalogAddress: catalog.address });
  schedule = await createSchedule(catalog.client, 20);
  patient = await createPatient(sys.client);
});
afterAll(async () => {
  await sys?.close();
  await catalog?.close();
});

/** Inserts an owed release of `slotId` for `claimId` directly into the outbox (fixture). */
const oweRelease = (slotId: string, claimId: string) => sys.sql.query('INSERT INTO slot_release (slot_id, claim_id) VALUES ($1, $2)', [slotId, claimId]);

/** Runs the dispatcher until no release of these slots is owed any more; returns how many it delivered. */
async function dispatchUntilDelivered(slotIds: string[]): Promise<number> {
  let delivered = 0;
  await pollUntil('owed releases to be delivered', async () => {
    delivered += await sys.service.releases.dispatchDue();
    const { rows } = await sys.sql.query('SELECT count(*)::int AS owed FROM slot_release WHERE slot_id = ANY($1) AND done_time IS NULL', [slotIds]);
    return rows[0].owed === 0 ? true : undefined;
  });
  return delivered;
}

describe('slot release outbox', () => {
  it('cancels while catalog is down, and delivers the owed releases once it is back', async () => {
    const slots = [freshSlot(), freshSlot()];
    const booked = [await book(sys, patient, slots[0]), await book(sys, patient, slots[1])];
    await catalog.stop();
    try {
      for (const appointment of booked) {
        const { appointment: cancelled } = await sys.client.cancelAppointment({ id: appointment.id, reason: 'catalog is down' });
        expect(cancelled).toMatchObject({ status: AppointmentStatus.APPOINTMENT_STATUS_CANCELLED, cancelReason: 'catalog is down' });
      }
      for (const [i, slot] of slots.entries()) {
        expect(await releasesOf(sys.sql, slot.id)).toEqual([{ slot_id: slot.id, claim_id: booked[i].id, attempts: 1, done_time: null }]);
        expect(await storedSlot(catalog, slot.id)).toEqual({ status: 'booked', claim_id: booked[i].id });
      }
      const { rows } = await sys.sql.query('SELECT last_error FROM slot_release WHERE slot_id = ANY($1)', [slots.map((s) => s.id)]);
      expect(rows.every((r) => /unavailable/i.test(r.last_error))).toBe(true);

      // Fixture: make the releases due now rather than after their backoff; the dispatcher still cannot deliver them.
      await sys.sql.query('UPDATE slot_release SET next_attempt_at = now() WHERE slot_id = ANY($1)', [slots.map((s) => s.id)]);
      expect(await sys.service.releases.dispatchDue()).toBe(0);
      expect((await releasesOf(sys.sql, slots[0].id))[0]).toMatchObject({ attempts: 2, done_time: null });
    } finally {
      await catalog.start();
    }

    expect(await dispatchUntilDelivered(slots.map((s) => s.id))).toBe(2);
    for (const slot of slots) {
      expect(await storedSlot(catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
      expect((await releasesOf(sys.sql, slot.id))[0].done_time).toBeInstanceOf(Date);
    }
    const { slots: open } = await catalog.client.searchSlots(
      searchRequest({ doctorId: schedule.doctor.id, startTimeFrom: slots[0].startTime, startTimeTo: new Date(+slots[1].startTime! + 1) }),
    );
    expect(open.map((s) => s.id)).toEqual(slots.map((s) => s.id));
    // Nothing more is owed, so nothing more is sent.
    expect(await sys.service.releases.dispatchDue()).toBe(0);
  });

  it('keeps a new release for the immediate attempt of the transaction that owed it, and for the loop once that lapses', async () => {
    const [slot, other] = [freshSlot(), freshSlot()];
    const [held, lapsed] = [await book(sys, patient, slot), await book(sys, patient, other)];
    // Owed as a cancel owes it, in a transaction of its own; the loop runs before the immediate attempt.
    await sys.prisma.$transaction((tx) => enqueueRelease(tx, slot.id, held.id, 60_000));
    await sys.prisma.$transaction((tx) => enqueueRelease(tx, other.id, lapsed.id, 0));
    expect(await sys.service.releases.dispatchDue()).toBe(1); // only the lapsed reservation
    expect(await releasesOf(sys.sql, slot.id)).toEqual([{ slot_id: slot.id, claim_id: held.id, attempts: 0, done_time: null }]);
    expect(await storedSlot(catalog, slot.id)).toEqual({ status: 'booked', claim_id: held.id });
    expect(await storedSlot(catalog, other.id)).toEqual({ status: 'open', claim_id: null });

    expect(await sys.service.releases.deliverNow(slot.id, held.id)).toBe(true);
    expect(await storedSlot(catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
    expect(await releasesOf(sys.sql, slot.id)).toMatchObject([{ attempts: 1, done_time: expect.any(Date) }]);
  });

  it('never releases a slot held by another claim, and marks that release done', async () => {
    const slot = freshSlot();
    const [claimA, claimB] = [randomUUID(), randomUUID()];
    await catalog.client.claimSlot({ slotId: slot.id, claimId: claimB });
    await oweRelease(slot.id, claimA);
    expect(await dispatchUntilDelivered([slot.id])).toBe(1);
    expect(await storedSlot(catalog, slot.id)).toEqual({ status: 'booked', claim_id: claimB });
    expect(await releasesOf(sys.sql, slot.id)).toEqual([{ slot_id: slot.id, claim_id: claimA, attempts: 1, done_time: expect.any(Date) }]);
  });

  it('leaves a slot booked by a later appointment alone when an old release is delivered late', async () => {
    // A cancellation's release arrives after the slot was opened and booked again by someone else.
    const slot = freshSlot();
    const first = await book(sys, patient, slot);
    await sys.client.cancelAppointment({ id: first.id, reason: '' });
    const second = await book(sys, patient, slot);
    // Fixture: replay the first appointment's release, as a dispatcher that lost its lease would.
    await sys.sql.query('UPDATE slot_release SET done_time = NULL, next_attempt_at = now() WHERE slot_id = $1', [slot.id]);
    expect(await dispatchUntilDelivered([slot.id])).toBe(1);
    expect(await storedSlot(catalog, slot.id)).toEqual({ status: 'booked', claim_id: second.id });
  });

  it('counts a release of an open or unknown slot as delivered', async () => {
    const open = freshSlot();
    const unknown = randomUUID();
    await oweRelease(open.id, randomUUID());
    await oweRelease(unknown, randomUUID());
    expect(await dispatchUntilDelivered([open.id, unknown])).toBe(2);
    expect(await storedSlot(catalog, open.id)).toEqual({ status: 'open', claim_id: null });
  });

  it('times retries and deliveries by the database clock, however wrong the process clock is', async () => {
    const [retried, delivered] = [freshSlot(), freshSlot()];
    await oweRelease(retried.id, randomUUID());
    await oweRelease(delivered.id, randomUUID());
    const idOf = async (slotId: string): Promise<string> => (await sys.sql.query('SELECT id FROM slot_release WHERE slot_id = $1', [slotId])).rows[0].id;
    const [retriedId, deliveredId] = [await idOf(retried.id), await idOf(delivered.id)];
    const repo = releasesRepo(sys.prisma);
    // Only Date is faked: a process clock 25 years behind the database's.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2001-01-01T00:00:00Z'));
    try {
      await repo.retryAfter(retriedId, 60_000, 'catalog unavailable');
      await repo.markDone(deliveredId);
    } finally {
      vi.useRealTimers();
    }
    const { rows } = await sys.sql.query(
      `SELECT extract(epoch FROM (SELECT next_attempt_at FROM slot_release WHERE id = $1) - now())::float8 AS retry_in_s,
              extract(epoch FROM now() - (SELECT done_time FROM slot_release WHERE id = $2))::float8 AS done_ago_s`,
      [retriedId, deliveredId],
    );
    expect(rows[0].retry_in_s).toBeGreaterThan(30);
    expect(rows[0].retry_in_s).toBeLessThanOrEqual(60);
    expect(rows[0].done_ago_s).toBeGreaterThanOrEqual(0);
    expect(rows[0].done_ago_s).toBeLessThan(30);
    expect(await releasesOf(sys.sql, delivered.id)).toEqual([expect.objectContaining({ done_time: expect.any(Date) })]);
  });

  it('delivers each owed release once when dispatchers run concurrently', async () => {
    const slots = [freshSlot(), freshSlot(), freshSlot(), freshSlot(), freshSlot()];
    const claims = slots.map(() => randomUUID());
    for (const [i, slot] of slots.entries()) {
      await catalog.client.claimSlot({ slotId: slot.id, claimId: claims[i] });
      await oweRelease(slot.id, claims[i]);
    }
    const delivered = await Promise.all([1, 2, 3].map(() => sys.service.releases.dispatchDue()));
    expect(delivered.reduce((a, b) => a + b, 0)).toBe(slots.length);
    for (const slot of slots) {
      expect(await storedSlot(catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
      expect(await releasesOf(sys.sql, slot.id)).toEqual([expect.objectContaining({ attempts: 1, done_time: expect.any(Date) })]);
    }
  });
});
