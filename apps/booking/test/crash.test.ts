import { afterEach, it } from 'vitest';
import { startCluster, type Cluster } from './cluster';
import { bookUnderCrash, expectSettled } from './rush';

// kill -9 of one replica while bookings are in flight, then a restart: once
// the reconciler and the release dispatcher have run, the invariants hold
// and every slot is open or claimed by a BOOKED appointment.

const SIZE = { calls: 200, slots: 60 };
// Short deadlines, so that the grace period (and with it the test) is short.
const TIMING = { catalogTimeoutMs: 2000, reconcileGraceMs: 5000 };

let cluster: Cluster | undefined;
afterEach(() => cluster?.close());

it('settles every booking after a catalog replica is killed mid-rush and restarted', async () => {
  cluster = await startCluster(2, 2, TIMING);
  const c = cluster;
  let restartedAt = 0;
  const { outcomes, bookedIds } = await bookUnderCrash(c, SIZE, async () => {
    await c.catalogs[0].stop('SIGKILL');
    await c.restartCatalog(0);
    restartedAt = performance.now();
  });
  await expectSettled(c, 'catalog kill -9', SIZE, outcomes, bookedIds, restartedAt);
}, 180_000);

it('settles every booking after a booking replica is killed mid-rush and restarted', async () => {
  cluster = await startCluster(2, 2, TIMING);
  const c = cluster;
  let restartedAt = 0;
  const { outcomes, bookedIds } = await bookUnderCrash(c, SIZE, async () => {
    await c.bookings[0].stop('SIGKILL');
    await c.restartBooking(0);
    restartedAt = performance.now();
  });
  await expectSettled(c, 'booking kill -9', SIZE, outcomes, bookedIds, restartedAt);
}, 180_000);
