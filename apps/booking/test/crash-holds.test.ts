import { afterEach, expect, it } from 'vitest';
import { pollUntil } from '@carebook/testing';
import { startCluster, type Cluster } from './cluster';
import { expectSettled, holdAndConfirmUnderCrash, tallyOf } from './rush';

// kill -9 of one replica while holds and confirmations are in flight, then a
// restart: once the reconciler and the release dispatcher have run, no slot
// is booked twice, none is held by no one, every confirmation a client was
// told of is BOOKED, and every hold left unconfirmed ends EXPIRED, its slot
// open again.

const SIZE = { calls: 150, slots: 50 };
const HOLD_MS = 3000;
const TIMING = { catalogTimeoutMs: 2000, reconcileGraceMs: 5000 };

let cluster: Cluster | undefined;
afterEach(() => cluster?.close());

/** Waits until no hold is left, lapsed or not, and the invariants hold. */
async function expectNoHoldLeft(c: Cluster, label: string): Promise<void> {
  const report = await pollUntil(
    `${label}: every hold settled`,
    async () => {
      const r = await c.checkInvariants(true);
      return r.violations.length === 0 && r.heldAppointments === 0 && r.heldSlots === 0 ? r : undefined;
    },
    60_000,
    250,
  );
  console.log(`${label}: after every hold lapsed:`, report);
  expect(report.bookedAppointments).toBe(report.claimedSlots);
}

it.each([
  ['catalog', (c: Cluster) => c.catalogs[0].stop('SIGKILL'), (c: Cluster) => c.restartCatalog(0)],
  ['booking', (c: Cluster) => c.bookings[0].stop('SIGKILL'), (c: Cluster) => c.restartBooking(0)],
] as const)('settles every hold and confirmation after a %s replica is killed mid-rush and restarted', async (which, kill, restart) => {
  cluster = await startCluster(2, 2, TIMING);
  const c = cluster;
  let restartedAt = 0;
  const label = `${which} kill -9 during holds`;
  const { outcomes, bookedIds } = await holdAndConfirmUnderCrash(c, SIZE, HOLD_MS, async () => {
    await kill(c);
    await restart(c);
    restartedAt = performance.now();
  });
  expect(Object.keys(tallyOf(outcomes)).filter((o) => o.includes('INTERNAL') || o.includes('UNKNOWN'))).toEqual([]);
  await expectSettled(c, label, SIZE, outcomes, bookedIds, restartedAt);
  await expectNoHoldLeft(c, label);
}, 180_000);
