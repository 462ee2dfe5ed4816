import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { benchPool, warmPool, type BenchContext } from './context';
import { createDatabase, dropDatabase } from './database';
import { burst, toLoadResult, type LoadResult, type Outcome } from './load';
import { measure } from './measure';
import { classifyError } from './outcome';

// The booking rush run as raw SQL with the strategies other booking systems
// use, side by side with carebook's, on a scratch table: peer_slot holds the
// slots, peer_booking one row per booking made. No unique index on
// peer_booking(slot_id), as in the systems imitated: the strategy alone must
// keep a slot from being booked twice.

const SCHEMA = `
CREATE TABLE peer_slot (id uuid PRIMARY KEY, status text NOT NULL DEFAULT 'open', claim_id uuid);
CREATE TABLE peer_booking (id bigserial PRIMARY KEY, slot_id uuid NOT NULL, patient_id uuid NOT NULL, create_time timestamptz NOT NULL DEFAULT now());
CREATE INDEX peer_booking_slot_id_idx ON peer_booking (slot_id);`;

type Attempt = (pool: pg.Pool, slotId: string, patientId: string, retries: { n: number }) => Promise<Outcome>;

const MAX_ATTEMPTS = 30;

function isRetryable(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === '40001' || code === '40P01';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One strategy: its name, what it does, and one booking attempt. */
interface Strategy {
  name: string;
  description: string;
  attempt: Attempt;
}

export const STRATEGIES: Strategy[] = [
  {
    name: 'carebook: conditional UPDATE',
    description: "UPDATE peer_slot … WHERE id = $1 AND status = 'open', recording the booking in the same statement: one round trip",
    async attempt(pool, slotId, patientId) {
      const { rowCount } = await pool.query(
        `WITH claimed AS (UPDATE peer_slot SET status = 'booked', claim_id = $2 WHERE id = $1 AND status = 'open' RETURNING id)
         INSERT INTO peer_booking (slot_id, patient_id) SELECT id, $2 FROM claimed`,
        [slotId, patientId],
      );
      return rowCount === 1 ? 'ok' : 'SLOT_UNAVAILABLE';
    },
  },
  {
    name: 'check-then-insert, no lock',
    description: 'SELECT whether the slot has a booking, then INSERT one if not; READ COMMITTED, each statement on its own',
    async attempt(pool, slotId, patientId) {
      const taken = await pool.query(`SELECT 1 FROM peer_booking WHERE slot_id = $1 LIMIT 1`, [slotId]);
      if (taken.rowCount) return 'SLOT_UNAVAILABLE';
      await pool.query(`INSERT INTO peer_booking (slot_id, patient_id) VALUES ($1, $2)`, [slotId, patientId]);
      return 'ok';
    },
  },
  {
    name: 'SERIALIZABLE check-then-insert, retried',
    description: 'the same check and insert in one SERIALIZABLE transaction; a serialization failure (40001) is retried with jittered backoff',
    async attempt(pool, slotId, patientId, retries) {
      for (let attempt = 1; ; attempt++) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
          const taken = await client.query(`SELECT 1 FROM peer_booking WHERE slot_id = $1 LIMIT 1`, [slotId]);
          if (!taken.rowCount) await client.query(`INSERT INTO peer_booking (slot_id, patient_id) VALUES ($1, $2)`, [slotId, patientId]);
          await client.query('COMMIT');
          return taken.rowCount ? 'SLOT_UNAVAILABLE' : 'ok';
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          if (!isRetryable(err) || attempt >= MAX_ATTEMPTS) throw err;
          retries.n++;
        } finally {
          client.release();
        }
        await sleep(Math.random() * Math.min(100, 2 ** attempt));
      }
    },
  },
];

/** A strategy's figures over all rounds of the rush. */
export interface PeerResult {
  name: string;
  description: string;
  result: LoadResult;
  rounds: number;
  /** Bookings made; a correct strategy makes exactly one per slot. */
  winners: number;
  /** Serialization failures retried. */
  retries: number;
  /** Bookings beyond the first on a slot, found in peer_booking afterwards. */
  doubleBookings: number;
  /** Slots that ended up with more than one booking. */
  doubleBookedSlots: number;
  cpuCores?: Record<string, number>;
}

async function round(pool: pg.Pool, strategy: Strategy, clients: number, slots: number) {
  await pool.query('TRUNCATE peer_booking, peer_slot');
  const slotIds = Array.from({ length: slots }, () => randomUUID());
  await pool.query(`INSERT INTO peer_slot (id) SELECT unnest($1::uuid[])`, [slotIds]);
  const retries = { n: 0 };
  const samples = await burst(clients, async (i) => {
    try {
      return await strategy.attempt(pool, slotIds[i % slots], randomUUID(), retries);
    } catch (err) {
      return classifyError(err);
    }
  });
  const { rows } = await pool.query<{ bookings: number; slots: number; doubled: number }>(
    `SELECT count(*)::int AS bookings, count(DISTINCT slot_id)::int AS slots,
            (SELECT count(*) FROM (SELECT slot_id FROM peer_booking GROUP BY slot_id HAVING count(*) > 1) d)::int AS doubled
     FROM peer_booking`,
  );
  return { samples, retries: retries.n, winners: rows[0].bookings, doubleBookings: rows[0].bookings - rows[0].slots, doubleBookedSlots: rows[0].doubled };
}

/**
 * The booking rush (`rushClients` at once on `rushSlots` slots) with each
 * peer strategy, over `pool` connections, `rounds` times each on fresh
 * slots, in a scratch database `<prefix>_peer`.
 */
export async function peerStrategies(ctx: BenchContext, rounds: number): Promise<PeerResult[]> {
  const admin = ctx.server.url('postgres');
  const db = `${ctx.options.prefix}_peer`;
  await dropDatabase(admin, db);
  await createDatabase(admin, db);
  const pool = benchPool(ctx.server.url(db), ctx.options.pool);
  try {
    await pool.query(SCHEMA);
    await warmPool(pool, ctx.options.pool);
    const results: PeerResult[] = [];
    for (const strategy of STRATEGIES) {
      const latencies: number[] = [];
      const outcomes: Outcome[] = [];
      let elapsed = 0;
      const totals = { retries: 0, winners: 0, doubleBookings: 0, doubleBookedSlots: 0 };
      const m = await measure(ctx, async () => {
        for (let r = 0; r < rounds; r++) {
          const one = await round(pool, strategy, ctx.options.rushClients, ctx.options.rushSlots);
          elapsed += one.samples.elapsedMs;
          outcomes.push(...one.samples.outcomes);
          latencies.push(...one.samples.latencies);
          totals.retries += one.retries;
          totals.winners += one.winners;
          totals.doubleBookings += one.doubleBookings;
          totals.doubleBookedSlots += one.doubleBookedSlots;
        }
        return toLoadResult(ctx.options.rushClients, latencies, outcomes, elapsed);
      });
      results.push({ name: strategy.name, description: strategy.description, result: m.result, rounds, ...totals, cpuCores: m.cpuCores });
    }
    return results;
  } finally {
    await pool.end();
    if (ctx.options.dropAfter) await dropDatabase(admin, db);
  }
}
