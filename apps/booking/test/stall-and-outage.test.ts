import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createLogger } from '@carebook/server';
import { startEmbeddedPostgres, type EmbeddedDatabaseServer } from '@carebook/server/embedded-postgres';
import { freePort, pollUntil } from '@carebook/testing';
import { startCluster, type Cluster } from './cluster';
import { bookUnderCrash, expectSettled, tallyOf } from './rush';

// Two faults that no crash test covers:
// - a catalog replica stalled (SIGSTOP) for longer than the grace period in
//   the middle of a rush, then resumed: the claims it had read before the
//   stall reach the database long after their deadline, and must change
//   nothing, so no slot ends up claimed by a FAILED appointment;
// - PostgreSQL killed with -9 in the middle of a rush, then restarted:
//   callers meanwhile are told UNAVAILABLE (a retry is safe), never
//   INTERNAL, and everything settles after the restart.

const TIMING = { catalogTimeoutMs: 1000, reconcileGraceMs: 3000 };
const NEVER = ['INTERNAL', 'UNKNOWN'];

let cluster: Cluster | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('leaves no slot claimed by a FAILED appointment after a catalog replica stalls past the grace period, three times over', async () => {
  cluster = await startCluster(2, 1, TIMING);
  const c = cluster;
  // Booking's channel connects to the catalog replicas on its first call; a
  // replica stalled before that is never connected, and gets no calls.
  await bookUnderCrash(c, { calls: 20, slots: 20 }, async () => {});
  for (let round = 1; round <= 3; round++) {
    let resumedAt = 0;
    const size = { calls: 120, slots: 30 };
    // Stalled as the rush begins, so that about half of its calls to catalog
    // wait, unread, in the stalled replica's socket.
    const pid = c.catalogs[1].pid!;
    process.kill(pid, 'SIGSTOP');
    const { outcomes, bookedIds } = await bookUnderCrash(
      c,
      size,
      async () => {
        // The stall itself, not a synchronisation: longer than the whole grace period.
        await new Promise((resolve) => setTimeout(resolve, TIMING.reconcileGraceMs + 2000));
        process.kill(pid, 'SIGCONT');
        resumedAt = performance.now();
      },
      { atStart: true },
    );
    const tally = tallyOf(outcomes);
    expect(Object.keys(tally).filter((o) => NEVER.includes(o))).toEqual([]);
    // The stall caught calls in flight: their callers gave up while catalog slept.
    expect(tally.DEADLINE_EXCEEDED ?? 0, JSON.stringify(tally)).toBeGreaterThan(0);
    await expectSettled(c, `stall round ${round}`, size, outcomes, bookedIds, resumedAt);
  }
}, 300_000);

/** The PIDs of `root` and all its descendants, from ps. */
function processTree(root: number): number[] {
  const children = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number));
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...children.filter(([, ppid]) => ppid === tree[i]).map(([pid]) => pid));
  return tree;
}

/** A PostgreSQL of this test's own, which it may kill. */
async function ownPostgres(): Promise<{ server: EmbeddedDatabaseServer; dataDir: string; port: number; restart(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'carebook-outage-pg-'));
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const log = createLogger('outage-pg', 'warn');
  const own = { server: await startEmbeddedPostgres({ dataDir, port, log }), dataDir, port, restart: async () => {} };
  own.restart = async () => {
    own.server = await startEmbeddedPostgres({ dataDir, port, log });
  };
  cleanups.push(async () => {
    await own.server.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  return own;
}

it('answers UNAVAILABLE, never INTERNAL, while PostgreSQL is killed -9 mid-rush, and settles everything after its restart', async () => {
  const pg = await ownPostgres();
  await Promise.all([pg.server.ensureDatabase('catalog'), pg.server.ensureDatabase('booking')]);
  const keep = async () => {}; // dropped with the whole data directory
  cluster = await startCluster(1, 1, TIMING, {
    catalog: { url: pg.server.url('catalog'), drop: keep },
    booking: { url: pg.server.url('booking'), drop: keep },
  });
  const c = cluster;
  let restartedAt = 0;
  const size = { calls: 200, slots: 40 };
  // Killed as the rush begins (the kill is synchronous, before the first
  // booking is sent) and down for a while, so that calls meet the outage
  // whatever the machine's speed; then restarted mid-rush.
  const postmaster = Number((await readFile(join(pg.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const { outcomes, bookedIds, unavailableAnswers } = await bookUnderCrash(
    c,
    size,
    async () => {
      for (const pid of processTree(postmaster)) process.kill(pid, 'SIGKILL');
      await pollUntil('PostgreSQL to be gone', async () => (processTree(postmaster).every((pid) => !isAlive(pid)) ? true : undefined), 10_000, 50);
      // The outage itself, not a synchronisation.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await pg.restart();
      restartedAt = performance.now();
    },
    // Clients retry UNAVAILABLE with the same request_id, as the error tells them they may.
    { atStart: true, retryUnavailableForMs: 20_000 },
  );
  const tally = tallyOf(outcomes);
  console.log(`postgres kill -9: ${unavailableAnswers} UNAVAILABLE answers retried during the outage`);
  expect(Object.keys(tally).filter((o) => NEVER.includes(o)), JSON.stringify(tally)).toEqual([]);
  // The outage was met, as the retryable error, and every retry then came to an answer.
  expect(unavailableAnswers, JSON.stringify(tally)).toBeGreaterThan(0);
  expect(tally.UNAVAILABLE ?? 0, JSON.stringify(tally)).toBe(0);
  // Appointments whose claim window passed during the outage were settled FAILED by the reconciler,
  // so a slot may end unbooked; none is booked twice (expectSettled checks).
  expect(tally.booked, JSON.stringify(tally)).toBeGreaterThan(0);
  await expectSettled(c, 'postgres kill -9', size, outcomes, bookedIds, restartedAt);
  const internalLogs = [...c.bookings, ...c.catalogs].flatMap((p) => p.errorLogs()).filter((line) => line.includes('"call failed"'));
  expect(internalLogs).toEqual([]);
  // The outage is logged once when it starts, not once per call: once by each
  // process's calls, and once by each of its periodic tasks that met it.
  const starts = { booking: outageStarts(c.bookings[0].errorLogs()), catalog: outageStarts(c.catalogs[0].errorLogs()) };
  console.log(`postgres kill -9: 'dependency unavailable' lines by source: ${JSON.stringify(starts)}`);
  expect(starts.booking.calls, 'booking\'s calls met the outage and logged it once').toBe(1);
  for (const [app, bySource] of Object.entries(starts)) {
    for (const [source, lines] of Object.entries(bySource)) expect(lines, `${app} ${source}: lines per outage`).toBe(1);
  }
}, 300_000);

/** How many times each source (the gRPC calls, or a periodic task by name) logged a database outage starting. */
function outageStarts(errorLogs: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of errorLogs) {
    const entry = JSON.parse(line) as { msg?: string; dependency?: string; task?: string };
    if (entry.msg !== 'dependency unavailable' || entry.dependency !== 'database') continue;
    const source = entry.task ?? 'calls';
    counts[source] = (counts[source] ?? 0) + 1;
  }
  return counts;
}

/** True while `pid` runs: a zombie, dead but not yet reaped by its parent, does not count. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
