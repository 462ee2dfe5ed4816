import { randomUUID } from 'node:crypto';
import { connectivityState, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogClient, Clinic, SlotInterval } from '@carebook/proto/catalog';
import { isServiceError, readStatusDetails } from '@carebook/server';
import { pollUntil } from '@carebook/testing';
import { consecutiveSlots, createClinic, createDoctor, hoursFromNow, startCatalogUnderTest, type CatalogUnderTest } from './harness';

const MINUTE = 60_000;

let catalog: CatalogUnderTest;
let clinic: Clinic;

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
  clinic = await createClinic(catalog.client);
});

afterAll(async () => {
  await catalog?.close();
});

/**
 * `count` clients, each on its own connection, all connected before the
 * test fires: the calls then race on the server and in PostgreSQL, not in
 * one client's queue.
 */
async function connectedClients(count: number): Promise<CatalogClient[]> {
  const clients = Array.from({ length: count }, () => catalog.newClient());
  const deadline = new Date(Date.now() + 10_000);
  await Promise.all(
    clients.map((c) => new Promise<void>((resolve, reject) => c.raw.waitForReady(deadline, (err) => (err ? reject(err) : resolve())))),
  );
  for (const c of clients) expect(c.raw.getChannel().getConnectivityState(false)).toBe(connectivityState.READY);
  return clients;
}

/** How a call ended: ok, or its gRPC code and ErrorInfo reason. */
async function outcomeOf<T>(call: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; code: status; reason?: string }> {
  try {
    return { ok: true, value: await call };
  } catch (err) {
    if (!isServiceError(err)) throw err;
    return { ok: false, code: err.code, reason: readStatusDetails(err).errorInfo?.reason };
  }
}

const tally = (outcomes: { ok: boolean; code?: status; reason?: string }[]) =>
  outcomes.reduce<Record<string, number>>((acc, o) => {
    const key = o.ok ? 'OK' : `${status[o.code!]}/${o.reason}`;
    acc[key] = (acc[key] ?? 0) + 1;
    return acc;
  }, {});

describe('concurrent ClaimSlot', () => {
  it('200 callers on their own connections, 10 slots: exactly one winner per slot', async () => {
    const callers = 200;
    const doctor = await createDoctor(catalog.client, clinic.id);
    const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(hoursFromNow(5), 10, 30) });
    const clients = await connectedClients(callers);
    try {
      const requests = clients.map((_, i) => ({ slotId: slots[i % slots.length].id, claimId: randomUUID() }));
      const started = performance.now();
      const outcomes = await Promise.all(clients.map((c, i) => outcomeOf(c.claimSlot(requests[i]))));
      const elapsedMs = Math.round(performance.now() - started);

      const counts = tally(outcomes);
      expect(counts).toEqual({ OK: 10, 'FAILED_PRECONDITION/SLOT_UNAVAILABLE': 190 });
      const winners = new Map<string, string>();
      outcomes.forEach((o, i) => {
        if (!o.ok) return;
        expect(o.value.slot).toMatchObject({ id: requests[i].slotId, claimId: requests[i].claimId });
        expect(winners.has(requests[i].slotId), `slot ${requests[i].slotId} won twice`).toBe(false);
        winners.set(requests[i].slotId, requests[i].claimId);
      });
      expect(winners.size).toBe(slots.length);

      const { rows } = await catalog.sql.query<{ id: string; status: string; claim_id: string }>(
        'SELECT id::text, status::text, claim_id::text FROM slot WHERE doctor_id = $1',
        [doctor.id],
      );
      expect(rows).toHaveLength(slots.length);
      for (const row of rows) expect(row).toEqual({ id: row.id, status: 'booked', claim_id: winners.get(row.id) });

      console.log(
        `concurrent claims: ${callers} calls from ${callers} connections over ${slots.length} slots -> ` +
          `${counts.OK} winners, ${counts['FAILED_PRECONDITION/SLOT_UNAVAILABLE']} SLOT_UNAVAILABLE, ${elapsedMs} ms`,
      );
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('50 concurrent retries of the same claim all succeed and book the slot once', async () => {
    const doctor = await createDoctor(catalog.client, clinic.id);
    const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(hoursFromNow(6), 1, 30) });
    const claimId = randomUUID();
    const clients = await connectedClients(50);
    try {
      const outcomes = await Promise.all(clients.map((c) => outcomeOf(c.claimSlot({ slotId: slots[0].id, claimId }))));
      expect(tally(outcomes)).toEqual({ OK: 50 });
      const { rows } = await catalog.sql.query('SELECT status::text, claim_id::text FROM slot WHERE id = $1', [slots[0].id]);
      expect(rows).toEqual([{ status: 'booked', claim_id: claimId }]);
    } finally {
      for (const c of clients) c.close();
    }
  });
});

describe('concurrent overlapping CreateSlots', () => {
  it('one batch wins per round, the others get SLOT_OVERLAP, and only the winner is stored', async () => {
    const rounds = 20;
    const racers = 4;
    const clients = await connectedClients(racers);
    const totals: Record<string, number> = {};
    let namedConflicts = 0;
    // Two batches inserting at the same instant can each find the other's
    // uncommitted row in the exclusion index and wait on it: a deadlock,
    // reported only after deadlock_timeout (1 s). A round that long went
    // through one and the service's retry; how many do is down to timing.
    let slowRounds = 0;
    const started = performance.now();
    try {
      for (let round = 0; round < rounds; round++) {
        const doctor = await createDoctor(catalog.client, clinic.id, { displayName: `Dr. Race ${round}` });
        const start = hoursFromNow(10 + round);
        const roundStarted = performance.now();
        // Batch k covers [k*10, k*10 + 90) minutes: every pair of batches overlaps.
        const batches: SlotInterval[][] = clients.map((_, k) => consecutiveSlots(new Date(+start + k * 10 * MINUTE), 3, 30));
        const results = await Promise.all(
          clients.map((c, k) =>
            c.createSlots({ doctorId: doctor.id, slots: batches[k] }).then(
              (response) => ({ ok: true as const, response }),
              (err: unknown) => {
                if (!isServiceError(err)) throw err;
                return { ok: false as const, code: err.code, details: readStatusDetails(err) };
              },
            ),
          ),
        );
        if (performance.now() - roundStarted >= 1000) slowRounds++;
        const outcomes = results.map((r) => (r.ok ? { ok: true } : { ok: false, code: r.code, reason: r.details.errorInfo?.reason }));
        for (const [key, n] of Object.entries(tally(outcomes))) totals[key] = (totals[key] ?? 0) + n;
        expect(tally(outcomes), `round ${round}`).toEqual({ OK: 1, 'ALREADY_EXISTS/SLOT_OVERLAP': racers - 1 });

        const winner = results.find((r) => r.ok)!;
        const { rows } = await catalog.sql.query<{ id: string }>('SELECT id::text FROM slot WHERE doctor_id = $1 ORDER BY start_time', [
          doctor.id,
        ]);
        expect(rows.map((r) => r.id)).toEqual(winner.response.slots.map((s) => s.id));
        for (const r of results) {
          if (r.ok) continue;
          const conflicting = r.details.errorInfo?.metadata.conflicting_slot_id;
          if (conflicting) {
            namedConflicts++;
            expect(rows.map((row) => row.id)).toContain(conflicting);
          }
        }
      }
    } finally {
      for (const c of clients) c.close();
    }
    expect(namedConflicts).toBe(rounds * (racers - 1));
    console.log(
      `concurrent overlapping CreateSlots: ${rounds} rounds x ${racers} racers -> ${JSON.stringify(totals)}, ` +
        `${namedConflicts} losers named the winner's slot, ${slowRounds} rounds past deadlock_timeout, ` +
        `${Math.round(performance.now() - started)} ms`,
    );
  });
});

describe('CreateSlots as a deadlock victim', () => {
  const minutes = (base: Date, from: number, to: number): SlotInterval => ({
    startTime: new Date(+base + from * MINUTE),
    endTime: new Date(+base + to * MINUTE),
  });

  /**
   * Forces the deadlock the race above meets by chance: a transaction holds
   * slot X uncommitted; CreateSlots inserts Y, then X' (overlapping X) and
   * waits on it; the transaction then inserts Y' (overlapping Y) and waits
   * on CreateSlots. PostgreSQL aborts CreateSlots' statement (the first to
   * wait finds the cycle), and the service must retry it, not answer INTERNAL.
   */
  async function deadlockCreateSlots(end: 'COMMIT' | 'ROLLBACK') {
    const doctor = await createDoctor(catalog.client, clinic.id);
    const base = hoursFromNow(40);
    const insert = 'INSERT INTO slot (doctor_id, clinic_id, start_time, end_time) VALUES ($1, $2, $3, $4)';
    const insertInTx = (i: SlotInterval) => tx.query(insert, [doctor.id, clinic.id, i.startTime, i.endTime]);
    const tx = await catalog.sql.connect();
    try {
      await tx.query('BEGIN');
      await insertInTx(minutes(base, 0, 60)); // X
      let settled = false;
      const call = outcomeOf(
        catalog.client.createSlots({ doctorId: doctor.id, slots: [minutes(base, 120, 180), minutes(base, 30, 90)] }), // Y, X'
      ).finally(() => (settled = true));
      await pollUntil('CreateSlots to wait on the open transaction', async () => {
        if (settled) throw new Error(`CreateSlots ended without waiting: ${JSON.stringify(await call)}`);
        const { rows } = await catalog.sql.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT%'`,
        );
        return rows.length > 0 || undefined;
      });
      await insertInTx(minutes(base, 150, 210)); // Y': waits until PostgreSQL aborts CreateSlots' statement
      await tx.query(end);
      return { doctor, outcome: await call };
    } finally {
      tx.release();
    }
  }

  it('succeeds on retry when the other transaction rolls back', async () => {
    const { doctor, outcome } = await deadlockCreateSlots('ROLLBACK');
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    const { rows } = await catalog.sql.query('SELECT count(*)::int AS n FROM slot WHERE doctor_id = $1', [doctor.id]);
    expect(rows[0].n).toBe(2);
  });

  it('gets SLOT_OVERLAP on retry when the other transaction commits', async () => {
    const { doctor, outcome } = await deadlockCreateSlots('COMMIT');
    expect(outcome).toMatchObject({ ok: false, code: status.ALREADY_EXISTS, reason: 'SLOT_OVERLAP' });
    const { rows } = await catalog.sql.query('SELECT count(*)::int AS n FROM slot WHERE doctor_id = $1', [doctor.id]);
    expect(rows[0].n).toBe(2);
  });
});
