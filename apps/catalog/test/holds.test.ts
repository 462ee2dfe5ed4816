import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotStatus, type CatalogClient, type Doctor, type Slot } from '@carebook/proto/catalog';
import { isServiceError, readStatusDetails } from '@carebook/server';
import { pollUntil } from '@carebook/testing';
import { consecutiveSlots, createClinic, createDoctor, expectRefused, hoursFromNow, searchRequest, startCatalogUnderTest } from './harness';

// Holds: ClaimSlot with hold_duration holds a slot until the database's now()
// plus that; the same claim without a hold, with the hold's expiry as its
// deadline, turns it into a booking (the confirmation); a lapsed hold is
// open to any claim, with no sweeper. docs/booking-protocol.md, section 4.

let catalog: Awaited<ReturnType<typeof startCatalogUnderTest>>;
let doctor: Doctor;
let nextHour = 0;

beforeAll(async () => {
  // The reopening pass only when a test runs it: lapsed holds stay as they are otherwise.
  catalog = await startCatalogUnderTest({ holdReopenIntervalMs: 3_600_000 });
  doctor = await createDoctor(catalog.client, (await createClinic(catalog.client)).id);
});

afterAll(async () => {
  await catalog?.close();
});

const ms = (n: number) => ({ seconds: Math.floor(n / 1000), nanos: (n % 1000) * 1_000_000 });

async function openSlot(): Promise<Slot> {
  const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(hoursFromNow(++nextHour), 1, 30) });
  return slots[0];
}

async function storedSlot(id: string) {
  const { rows } = await catalog.sql.query<{ status: string; claim_id: string | null; hold_expire_time: Date | null }>(
    'SELECT status::text, claim_id::text, hold_expire_time FROM slot WHERE id = $1',
    [id],
  );
  return rows[0];
}

const databaseNow = async () => (await catalog.sql.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0].now;

/** Waits until the catalog database's clock has passed `instant`. */
async function untilPast(instant: Date): Promise<void> {
  await pollUntil('the database clock to pass the instant', async () => ((await databaseNow()) > instant ? true : undefined), 10_000, 20);
}

async function hold(slotId: string, claimId: string, holdMs: number, client: CatalogClient = catalog.client): Promise<Slot> {
  return (await client.claimSlot({ slotId, claimId, holdDuration: ms(holdMs) })).slot!;
}

/** The claim's outcome: 'won', or its refusal's reason. */
async function outcomeOf(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => 'won',
    (err: unknown) => (isServiceError(err) ? (readStatusDetails(err).errorInfo?.reason ?? status[err.code]) : String(err)),
  );
}

describe('a hold', () => {
  it('holds the slot for the claim until the database clock plus its duration, and says so in GetSlot', async () => {
    const created = await openSlot();
    const claimId = randomUUID();
    const before = await databaseNow();
    const held = await hold(created.id, claimId, 90_000);
    const after = await databaseNow();
    expect(held).toMatchObject({ id: created.id, status: SlotStatus.SLOT_STATUS_HELD, claimId });
    expect(+held.holdExpireTime!).toBeGreaterThanOrEqual(+before + 90_000 - 1);
    expect(+held.holdExpireTime!).toBeLessThanOrEqual(+after + 90_000);
    expect(await storedSlot(created.id)).toEqual({ status: 'held', claim_id: claimId, hold_expire_time: held.holdExpireTime });
    expect((await catalog.client.getSlot({ id: created.id })).slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_HELD, claimId, holdExpireTime: held.holdExpireTime });
    // Others see that it is held and until when, not by whom.
    expect((await catalog.publicClient.getSlot({ id: created.id })).slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_HELD, claimId: '' });
  });

  it('is returned unchanged to a retry of the same claim, with its first expiry', async () => {
    const created = await openSlot();
    const claimId = randomUUID();
    const first = await hold(created.id, claimId, 60_000);
    const again = await hold(created.id, claimId, 600_000);
    expect(again.holdExpireTime).toEqual(first.holdExpireTime);
    expect(await storedSlot(created.id)).toMatchObject({ status: 'held', hold_expire_time: first.holdExpireTime });
  });

  it('keeps every other claim out while it runs, booking or holding, changing nothing', async () => {
    const created = await openSlot();
    const holder = randomUUID();
    await hold(created.id, holder, 60_000);
    const stored = await storedSlot(created.id);
    for (const request of [{ slotId: created.id, claimId: randomUUID() }, { slotId: created.id, claimId: randomUUID(), holdDuration: ms(1000) }]) {
      await expectRefused(catalog, () => catalog.client.claimSlot(request), status.FAILED_PRECONDITION, { reason: 'SLOT_UNAVAILABLE' });
    }
    expect(await storedSlot(created.id)).toEqual(stored);
  });

  it('becomes a booking when the same claim claims again without a hold before its expiry', async () => {
    const created = await openSlot();
    const claimId = randomUUID();
    const held = await hold(created.id, claimId, 60_000);
    const { slot } = await catalog.client.claimSlot({ slotId: created.id, claimId, deadline: held.holdExpireTime });
    expect(slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_BOOKED, claimId, holdExpireTime: undefined });
    expect(await storedSlot(created.id)).toEqual({ status: 'booked', claim_id: claimId, hold_expire_time: null });
    // A hold asked again by the claim that booked it leaves the booking as it is.
    expect(await hold(created.id, claimId, 1000)).toMatchObject({ status: SlotStatus.SLOT_STATUS_BOOKED, holdExpireTime: undefined });
  });

  it('can be released by its claim alone', async () => {
    const created = await openSlot();
    const claimId = randomUUID();
    await hold(created.id, claimId, 60_000);
    await expectRefused(catalog, () => catalog.client.releaseSlot({ slotId: created.id, claimId: randomUUID() }), status.FAILED_PRECONDITION, {
      reason: 'CLAIM_MISMATCH',
    });
    const { slot } = await catalog.client.releaseSlot({ slotId: created.id, claimId });
    expect(slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_OPEN, claimId: '', holdExpireTime: undefined });
    expect(await storedSlot(created.id)).toEqual({ status: 'open', claim_id: null, hold_expire_time: null });
  });
});

describe('a lapsed hold', () => {
  it('is shown open, and another claim takes it without any sweeper; its own confirmation is then too late', async () => {
    const created = await openSlot();
    const first = randomUUID();
    const held = await hold(created.id, first, 200);
    await untilPast(held.holdExpireTime!);
    expect(await storedSlot(created.id)).toMatchObject({ status: 'held', claim_id: first });
    expect((await catalog.client.getSlot({ id: created.id })).slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_OPEN, claimId: '', holdExpireTime: undefined });
    const second = randomUUID();
    expect((await catalog.client.claimSlot({ slotId: created.id, claimId: second })).slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_BOOKED, claimId: second });
    await expectRefused(
      catalog,
      () => catalog.client.claimSlot({ slotId: created.id, claimId: first, deadline: held.holdExpireTime }),
      status.DEADLINE_EXCEEDED,
      { reason: 'CLAIM_DEADLINE_PASSED' },
    );
    expect(await storedSlot(created.id)).toEqual({ status: 'booked', claim_id: second, hold_expire_time: null });
  });

  it('cannot be confirmed even while no one else took it', async () => {
    const created = await openSlot();
    const claimId = randomUUID();
    const held = await hold(created.id, claimId, 200);
    await untilPast(held.holdExpireTime!);
    await expectRefused(catalog, () => catalog.client.claimSlot({ slotId: created.id, claimId, deadline: held.holdExpireTime }), status.DEADLINE_EXCEEDED, {
      reason: 'CLAIM_DEADLINE_PASSED',
    });
  });

  it('is held afresh by a new hold, of another claim or its own', async () => {
    const created = await openSlot();
    const claimId = randomUUID();
    const held = await hold(created.id, claimId, 200);
    await untilPast(held.holdExpireTime!);
    const renewed = await hold(created.id, claimId, 60_000);
    expect(+renewed.holdExpireTime!).toBeGreaterThan(+held.holdExpireTime! + 50_000);
    const other = await openSlot();
    const lapsed = await hold(other.id, randomUUID(), 200);
    await untilPast(lapsed.holdExpireTime!);
    const taker = randomUUID();
    expect(await hold(other.id, taker, 60_000)).toMatchObject({ status: SlotStatus.SLOT_STATUS_HELD, claimId: taker });
  });

  it('is opened again by the periodic pass, and only then shows in search; a running hold stays held and hidden', async () => {
    const [lapsing, running] = [await openSlot(), await openSlot()];
    const lapsed = await hold(lapsing.id, randomUUID(), 200);
    const runningClaim = randomUUID();
    await hold(running.id, runningClaim, 60_000);
    await untilPast(lapsed.holdExpireTime!);
    const search = async () =>
      (
        await catalog.client.searchSlots(
          searchRequest({ doctorId: doctor.id, startTimeFrom: lapsing.startTime, startTimeTo: new Date(+running.endTime! + 1), pageSize: 50 }),
        )
      ).slots.map((s) => s.id);
    expect(await search()).not.toContain(lapsing.id);
    await catalog.reopenLapsedHolds();
    expect(await storedSlot(lapsing.id)).toEqual({ status: 'open', claim_id: null, hold_expire_time: null });
    expect(await storedSlot(running.id)).toMatchObject({ status: 'held', claim_id: runningClaim });
    expect(await search()).toContain(lapsing.id);
    expect(await search()).not.toContain(running.id);
  });
});

describe('a confirmation racing the lapse', () => {
  it('and another claim at the expiry instant: one statement decides, never both (40 rounds)', async () => {
    const ROUNDS = 40;
    const [holderClient, otherClient] = [catalog.newClient(), catalog.newClient()];
    const tally: Record<string, number> = {};
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const created = await openSlot();
        const [holder, other] = [randomUUID(), randomUUID()];
        const held = await hold(created.id, holder, 300, holderClient);
        // Both fired around the expiry, by the client's clock, each within ±40 ms of it.
        const fireAt = (offsetMs: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, +held.holdExpireTime! - Date.now() + offsetMs)));
        const jitter = () => Math.round(Math.random() * 80 - 40);
        const [confirmed, claimed] = await Promise.all([
          fireAt(jitter()).then(() => outcomeOf(holderClient.claimSlot({ slotId: created.id, claimId: holder, deadline: held.holdExpireTime }))),
          fireAt(jitter()).then(() => outcomeOf(otherClient.claimSlot({ slotId: created.id, claimId: other }))),
        ]);
        const key = `confirm ${confirmed}, other ${claimed}`;
        tally[key] = (tally[key] ?? 0) + 1;
        expect(confirmed === 'won' && claimed === 'won', key).toBe(false);
        const stored = await storedSlot(created.id);
        if (confirmed === 'won') expect(stored).toEqual({ status: 'booked', claim_id: holder, hold_expire_time: null });
        if (claimed === 'won') expect(stored).toEqual({ status: 'booked', claim_id: other, hold_expire_time: null });
        if (confirmed !== 'won') expect(confirmed).toBe('CLAIM_DEADLINE_PASSED');
        if (claimed !== 'won') expect(claimed).toBe('SLOT_UNAVAILABLE');
      }
    } finally {
      holderClient.close();
      otherClient.close();
    }
    console.log(`confirm against another claim at the expiry, ${ROUNDS} rounds:`, tally);
  }, 60_000);

  it('waiting for the row lock past the expiry writes nothing (the trigger judges the deadline after the lock)', async () => {
    const created = await openSlot();
    const claimId = randomUUID();
    const held = await hold(created.id, claimId, 400);
    const locker = await catalog.sql.connect();
    const waiting = async () =>
      (
        await catalog.sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE slot s SET status = ''booked''%'`,
        )
      ).rows[0].n;
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT id FROM slot WHERE id = $1 FOR UPDATE', [created.id]);
      const confirm = outcomeOf(catalog.client.claimSlot({ slotId: created.id, claimId, deadline: held.holdExpireTime }));
      await pollUntil('the confirmation to wait for the row lock', async () => ((await waiting()) === 1 ? true : undefined));
      await untilPast(new Date(+held.holdExpireTime! + 100));
      await locker.query('COMMIT');
      await pollUntil('the confirmation to finish', async () => ((await waiting()) === 0 ? true : undefined));
      // The answer may be the call's own gRPC deadline or the database's refusal; the row is what matters.
      expect(await confirm).not.toBe('won');
    } finally {
      locker.release();
    }
    expect(await storedSlot(created.id)).toMatchObject({ status: 'held', claim_id: claimId });
  });
});

describe('hold_duration', () => {
  it.each([
    ['zero', { seconds: 0, nanos: 0 }, 'hold_duration'],
    ['negative', { seconds: -5, nanos: 0 }, 'hold_duration'],
    ['over an hour', { seconds: 3601, nanos: 0 }, 'hold_duration'],
    ['not whole milliseconds', { seconds: 1, nanos: 500 }, 'hold_duration'],
    ['nanos out of range', { seconds: 1, nanos: 1_000_000_000 }, 'hold_duration.nanos'],
    ['nanos of the wrong sign', { seconds: 1, nanos: -1 }, 'hold_duration.nanos'],
  ])('is refused when %s, changing nothing', async (_what, holdDuration, field) => {
    const created = await openSlot();
    await expectRefused(catalog, () => catalog.client.claimSlot({ slotId: created.id, claimId: randomUUID(), holdDuration }), status.INVALID_ARGUMENT, {
      reason: 'INVALID_ARGUMENT',
      field,
    });
  });
});
