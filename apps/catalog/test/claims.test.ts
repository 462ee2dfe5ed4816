import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotStatus, type Doctor, type Slot } from '@carebook/proto/catalog';
import { pollUntil } from '@carebook/testing';
import {
  consecutiveSlots,
  createClinic,
  createDoctor,
  expectRefused,
  hoursFromNow,
  startCatalogUnderTest,
  type CatalogUnderTest,
} from './harness';

let catalog: CatalogUnderTest;
let doctor: Doctor;
let nextHour = 0;

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
  const clinic = await createClinic(catalog.client);
  doctor = await createDoctor(catalog.client, clinic.id);
});

afterAll(async () => {
  await catalog?.close();
});

/** A fresh open slot of its own, so each test starts from a known state. */
async function openSlot(): Promise<Slot> {
  const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(hoursFromNow(++nextHour), 1, 30) });
  return slots[0];
}

/** The slot's row as stored. */
async function storedSlot(id: string) {
  const { rows } = await catalog.sql.query<{ status: string; claim_id: string | null; update_time: Date }>(
    'SELECT status::text, claim_id::text, update_time FROM slot WHERE id = $1',
    [id],
  );
  return rows[0];
}

describe('GetSlot', () => {
  it('returns an open slot without a claim, with the names of its doctor and clinic', async () => {
    const created = await openSlot();
    const { slot } = await catalog.client.getSlot({ id: created.id });
    const clinic = (await catalog.client.getClinic({ id: doctor.clinicId })).clinic!;
    expect(slot).toEqual({
      ...created,
      doctorDisplayName: doctor.displayName,
      specialty: doctor.specialty,
      clinicDisplayName: clinic.displayName,
      clinicTimeZone: clinic.timeZone,
    });
    expect(slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_OPEN, claimId: '', doctorId: doctor.id, clinicId: doctor.clinicId });
  });

  it('returns a claimed slot with its status and claim id', async () => {
    const created = await openSlot();
    const claimId = randomUUID();
    await catalog.client.claimSlot({ slotId: created.id, claimId });
    const { slot } = await catalog.client.getSlot({ id: created.id });
    expect(slot).toMatchObject({ id: created.id, status: SlotStatus.SLOT_STATUS_BOOKED, claimId });
  });

  it('answers NOT_FOUND for an unknown id, naming it', async () => {
    const id = randomUUID();
    const err = await expectRefused(catalog, () => catalog.client.getSlot({ id }), status.NOT_FOUND, { reason: 'SLOT_NOT_FOUND' });
    expect(err.errorInfo?.metadata).toEqual({ slot_id: id });
  });

  it.each(['', 'slot-1'])('refuses the id %j', async (id) => {
    await expectRefused(catalog, () => catalog.client.getSlot({ id }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field: 'id' });
  });
});

describe('ClaimSlot', () => {
  it('books an open slot for the claim', async () => {
    const created = await openSlot();
    const claimId = randomUUID();
    const { slot } = await catalog.client.claimSlot({ slotId: created.id, claimId });
    expect(slot).toMatchObject({ id: created.id, status: SlotStatus.SLOT_STATUS_BOOKED, claimId, startTime: created.startTime });
    expect(await storedSlot(created.id)).toMatchObject({ status: 'booked', claim_id: claimId });
  });

  it('is idempotent for the same claim id, in any letter case', async () => {
    const created = await openSlot();
    const claimId = randomUUID();
    await catalog.client.claimSlot({ slotId: created.id, claimId });
    const again = await catalog.client.claimSlot({ slotId: created.id, claimId });
    const upper = await catalog.client.claimSlot({ slotId: created.id.toUpperCase(), claimId: claimId.toUpperCase() });
    for (const { slot } of [again, upper]) expect(slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_BOOKED, claimId });
    expect(await storedSlot(created.id)).toMatchObject({ status: 'booked', claim_id: claimId });
  });

  it('refuses another claim with SLOT_UNAVAILABLE and keeps the first', async () => {
    const created = await openSlot();
    const first = randomUUID();
    await catalog.client.claimSlot({ slotId: created.id, claimId: first });
    const err = await expectRefused(
      catalog,
      () => catalog.client.claimSlot({ slotId: created.id, claimId: randomUUID() }),
      status.FAILED_PRECONDITION,
      { reason: 'SLOT_UNAVAILABLE' },
    );
    expect(err.errorInfo?.metadata).toEqual({ slot_id: created.id });
    expect(err.errorInfo?.domain).toBe('catalog.carebook.dev');
    expect(await storedSlot(created.id)).toMatchObject({ status: 'booked', claim_id: first });
  });

  it('answers NOT_FOUND for an unknown slot', async () => {
    const slotId = randomUUID();
    const err = await expectRefused(catalog, () => catalog.client.claimSlot({ slotId, claimId: randomUUID() }), status.NOT_FOUND, {
      reason: 'SLOT_NOT_FOUND',
    });
    expect(err.errorInfo?.metadata).toEqual({ slot_id: slotId });
  });

  // The caller's deadline is part of the claim's WHERE (docs/booking-protocol.md,
  // section 1). After a row-lock wait PostgreSQL evaluates that WHERE again,
  // and so reads the clock again, only if the transaction it waited for
  // changed the row and committed; behind one that only locked the row, or
  // rolled back, the claim would go ahead on its first evaluation. The
  // trigger slot_claim_within_deadline judges the deadline again once the
  // lock is held, so in every case the late claim writes nothing.
  it.each([
    ['changed the row and committed', 'UPDATE slot SET update_time = now() WHERE id = $1', 'open'],
    ['only locked the row', 'SELECT id FROM slot WHERE id = $1 FOR UPDATE', 'open'],
  ])('after its deadline passed during a row-lock wait on a transaction that %s, leaves the slot %s', async (_blocker, blockingSql, expected) => {
    const created = await openSlot();
    const locker = await catalog.sql.connect();
    const claimsWaiting = async () =>
      (
        await catalog.sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE slot s SET status = ''booked''%'`,
        )
      ).rows[0].n;
    try {
      await locker.query('BEGIN');
      await locker.query(blockingSql, [created.id]);
      const deadline = new Date(Date.now() + 400);
      const claim = catalog.client.claimSlot({ slotId: created.id, claimId: randomUUID() }, { deadline }).then(
        () => 'claimed',
        (err: { code?: number }) => err.code,
      );
      await pollUntil('the claim to wait for the row lock', async () => ((await claimsWaiting()) === 1 ? true : undefined));
      expect(await claim).toBe(status.DEADLINE_EXCEEDED);
      // The server's copy of the deadline may trail the client's by the
      // request's transit time; let that pass too before the lock is freed.
      await pollUntil('the deadline to be well past', async () => (Date.now() > deadline.getTime() + 200 ? true : undefined));
      await locker.query('COMMIT');
    } finally {
      locker.release();
    }
    await pollUntil('the late claim to finish', async () => ((await claimsWaiting()) === 0 ? true : undefined));
    expect((await storedSlot(created.id)).status).toBe(expected);
  });

  it.each([
    ['slot_id', { slotId: '' }],
    ['slot_id', { slotId: 'nope' }],
    ['claim_id', { claimId: '' }],
    ['claim_id', { claimId: 'appointment-7' }],
  ])('refuses a bad %s (%j)', async (field, fields) => {
    const created = await openSlot();
    const request = { slotId: created.id, claimId: randomUUID(), ...fields };
    await expectRefused(catalog, () => catalog.client.claimSlot(request), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field });
    expect(await storedSlot(created.id)).toMatchObject({ status: 'open', claim_id: null });
  });
});

describe('ReleaseSlot', () => {
  it('opens the slot held by the claim', async () => {
    const created = await openSlot();
    const claimId = randomUUID();
    await catalog.client.claimSlot({ slotId: created.id, claimId });
    const { slot } = await catalog.client.releaseSlot({ slotId: created.id, claimId });
    expect(slot).toMatchObject({ id: created.id, status: SlotStatus.SLOT_STATUS_OPEN, claimId: '' });
    expect(await storedSlot(created.id)).toMatchObject({ status: 'open', claim_id: null });
  });

  it('lets another claim take the slot once released', async () => {
    const created = await openSlot();
    const [first, second] = [randomUUID(), randomUUID()];
    await catalog.client.claimSlot({ slotId: created.id, claimId: first });
    await catalog.client.releaseSlot({ slotId: created.id, claimId: first });
    const { slot } = await catalog.client.claimSlot({ slotId: created.id, claimId: second });
    expect(slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_BOOKED, claimId: second });
    expect(await storedSlot(created.id)).toMatchObject({ status: 'booked', claim_id: second });
  });

  it('is a no-op the second time, changing nothing', async () => {
    const created = await openSlot();
    const claimId = randomUUID();
    await catalog.client.claimSlot({ slotId: created.id, claimId });
    await catalog.client.releaseSlot({ slotId: created.id, claimId });
    const stored = await storedSlot(created.id);
    const { slot } = await catalog.client.releaseSlot({ slotId: created.id, claimId });
    expect(slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_OPEN, claimId: '' });
    expect(await storedSlot(created.id)).toEqual(stored);
  });

  it('is a no-op on a slot that was never claimed, whatever the claim id', async () => {
    const created = await openSlot();
    const { slot } = await catalog.client.releaseSlot({ slotId: created.id, claimId: randomUUID() });
    expect(slot).toEqual(created);
  });

  it('refuses another claim with CLAIM_MISMATCH, changing nothing', async () => {
    const created = await openSlot();
    const holder = randomUUID();
    await catalog.client.claimSlot({ slotId: created.id, claimId: holder });
    const err = await expectRefused(
      catalog,
      () => catalog.client.releaseSlot({ slotId: created.id, claimId: randomUUID() }),
      status.FAILED_PRECONDITION,
      { reason: 'CLAIM_MISMATCH' },
    );
    expect(err.errorInfo?.metadata).toEqual({ slot_id: created.id });
    expect(await storedSlot(created.id)).toMatchObject({ status: 'booked', claim_id: holder });
  });

  it('answers NOT_FOUND for an unknown slot', async () => {
    const slotId = randomUUID();
    const err = await expectRefused(catalog, () => catalog.client.releaseSlot({ slotId, claimId: randomUUID() }), status.NOT_FOUND, {
      reason: 'SLOT_NOT_FOUND',
    });
    expect(err.errorInfo?.metadata).toEqual({ slot_id: slotId });
  });

  it.each([
    ['slot_id', { slotId: '' }],
    ['slot_id', { slotId: '42' }],
    ['claim_id', { claimId: '' }],
    ['claim_id', { claimId: 'not-a-uuid' }],
  ])('refuses a bad %s (%j)', async (field, fields) => {
    const created = await openSlot();
    const claimId = randomUUID();
    await catalog.client.claimSlot({ slotId: created.id, claimId });
    const request = { slotId: created.id, claimId, ...fields };
    await expectRefused(catalog, () => catalog.client.releaseSlot(request), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field });
    expect(await storedSlot(created.id)).toMatchObject({ status: 'booked', claim_id: claimId });
  });
});
