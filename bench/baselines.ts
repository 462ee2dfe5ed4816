import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { preparedByText } from '@carebook/server';
import { benchPool, pick, warmPool, type BenchContext } from './context';
import { runBurst, runClosedLoop, type LoadResult, type Operation } from './load';
import { noopClient, startNoopServer } from './noop-client';
import { outcomeOf } from './outcome';
import { claimSql, nextAvailableSql, releaseSql, searchSql, type Statement } from './sql-of-repo';
import { randomWindow } from './windows';

const CLAIM_TIMEOUT_MS = 2_000;

async function withPool<T>(url: string, max: number, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = benchPool(url, max);
  try {
    await warmPool(pool, max);
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

// Prepared, as the services send them: the baseline is the best the database can do with the statement.
const run = (pool: pg.Pool, s: Statement) => pool.query({ name: preparedByText('baseline', s.text).name, text: s.text, values: s.values });
// Parsed and planned on every call, as an ORM's raw query sends it.
const runUnprepared = (pool: pg.Pool, s: Statement) => pool.query(s.text, s.values);

/** Opens `slotIds` again after a baseline claimed them, so the data set is as before. */
export async function reopenSlots(ctx: BenchContext, slotIds: string[]): Promise<void> {
  if (slotIds.length) await ctx.catalogSql.query(`UPDATE slot SET status = 'open', claim_id = NULL WHERE id = ANY($1::uuid[])`, [slotIds]);
}

/** The search SELECT, run straight on PostgreSQL by `concurrency` clients on as many connections; prepared unless asked otherwise. */
export function rawSearch(ctx: BenchContext, catalogUrl = ctx.catalogUrl, prepared = true): Promise<LoadResult> {
  const { concurrency, durationMs, warmupMs } = ctx.options;
  const send = prepared ? run : runUnprepared;
  return withPool(catalogUrl, concurrency, (pool) =>
    runClosedLoop({ concurrency, durationMs, warmupMs }, () => {
      const { from, to } = randomWindow(ctx.dataset.shape, 7);
      return outcomeOf(() => send(pool, searchSql({ specialty: pick(ctx.specialties), from, to }, 50)));
    }),
  );
}

/** The next-available SELECT straight on PostgreSQL, if catalog's repo has one. */
export function rawNextAvailable(ctx: BenchContext): Promise<LoadResult> | undefined {
  const probe = nextAvailableSql({ specialty: 'x', from: new Date(), to: new Date(), limit: 20 });
  if (!probe) return undefined;
  const { concurrency, durationMs, warmupMs } = ctx.options;
  return withPool(ctx.catalogUrl, concurrency, (pool) =>
    runClosedLoop({ concurrency, durationMs, warmupMs }, () => {
      const { from } = randomWindow(ctx.dataset.shape, 7);
      const statement = nextAvailableSql({ specialty: pick(ctx.specialties), from, to: new Date(+from + 90 * 86_400_000), limit: 20 })!;
      return outcomeOf(() => run(pool, statement));
    }),
  );
}

/** The conditional claim UPDATE on distinct open slots, one statement (one transaction) per operation. */
export async function rawClaim(ctx: BenchContext): Promise<LoadResult> {
  const { concurrency, durationMs, warmupMs } = ctx.options;
  const claimed: string[] = [];
  try {
    return await withPool(ctx.catalogUrl, concurrency, (pool) =>
      runClosedLoop({ concurrency, durationMs, warmupMs }, async () => {
        const slotId = ctx.slots.next();
        if (!slotId) return undefined;
        claimed.push(slotId);
        return outcomeOf(async () => {
          const { rowCount } = await run(pool, claimSql(slotId, randomUUID(), new Date(Date.now() + CLAIM_TIMEOUT_MS)));
          if (rowCount !== 1) throw Object.assign(new Error('not claimed'), { name: 'SLOT_UNAVAILABLE' });
        });
      }),
    );
  } finally {
    await reopenSlots(ctx, claimed);
    ctx.slots.giveBack(claimed);
  }
}

/** The claim UPDATE of the rush: `clients` at once on `slotIds`, over the catalog's pool size of connections. */
export async function rawClaimRush(ctx: BenchContext, slotIds: string[], clients: number): Promise<{ result: LoadResult; winners: number }> {
  let winners = 0;
  try {
    return await withPool(ctx.catalogUrl, ctx.options.pool, async (pool) => {
      const result = await runBurst(clients, (i) =>
        outcomeOf(async () => {
          const { rowCount } = await run(pool, claimSql(slotIds[i % slotIds.length], randomUUID(), new Date(Date.now() + CLAIM_TIMEOUT_MS)));
          if (rowCount !== 1) throw Object.assign(new Error('not claimed'), { name: 'SLOT_UNAVAILABLE' });
          winners++;
        }),
      );
      return { result, winners };
    });
  } finally {
    await reopenSlots(ctx, slotIds);
  }
}

/** Release then claim again, the SQL under a cancel and a rebook, on slots the baseline holds. */
export async function rawReleaseAndClaim(ctx: BenchContext): Promise<LoadResult> {
  const { concurrency, durationMs, warmupMs } = ctx.options;
  const held = ctx.slots.take(concurrency * 2).map((slotId) => ({ slotId, claimId: randomUUID() }));
  try {
    return await withPool(ctx.catalogUrl, concurrency, async (pool) => {
      for (const h of held) await run(pool, claimSql(h.slotId, h.claimId, undefined));
      const queue = [...held];
      const op: Operation = async () => {
        const h = queue.shift();
        if (!h) return undefined;
        const outcome = await outcomeOf(async () => {
          const released = await run(pool, releaseSql(h.slotId, h.claimId));
          if (released.rowCount !== 1) throw Object.assign(new Error('not released'), { name: 'CLAIM_MISMATCH' });
          h.claimId = randomUUID();
          const claimed = await run(pool, claimSql(h.slotId, h.claimId, new Date(Date.now() + CLAIM_TIMEOUT_MS)));
          if (claimed.rowCount !== 1) throw Object.assign(new Error('not claimed'), { name: 'SLOT_UNAVAILABLE' });
        });
        queue.push(h);
        return outcome;
      };
      return runClosedLoop({ concurrency, durationMs, warmupMs }, op);
    });
  } finally {
    const slotIds = held.map((h) => h.slotId);
    await reopenSlots(ctx, slotIds);
    ctx.slots.giveBack(slotIds);
  }
}

/** A no-op unary call on a bare @grpc/grpc-js server in its own process, each client on its own channel. */
export async function noopGrpc(ctx: BenchContext): Promise<{ result: LoadResult; pid: number | undefined }> {
  const server = await startNoopServer();
  const clients = Array.from({ length: ctx.options.concurrency }, () => noopClient(server.address));
  try {
    await Promise.all(clients.map((c) => c.ping()));
    const { concurrency, durationMs, warmupMs } = ctx.options;
    const result = await runClosedLoop({ concurrency, durationMs, warmupMs }, (w) => outcomeOf(() => clients[w].ping()));
    return { result, pid: server.pid };
  } finally {
    clients.forEach((c) => c.close());
    await server.stop();
  }
}
