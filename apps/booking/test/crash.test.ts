import { status } from '@grpc/grpc-js';
import { afterEach, expect, it } from 'vitest';
import { AppointmentStatus } from '@carebook/proto/booking';
import { isServiceError, readStatusDetails } from '@carebook/server';
import { pollUntil } from '@carebook/testing';
import { startCluster, type Cluster } from './cluster';
import { seedPatients, seedSlots } from './fixtures';

// kill -9 of one replica while bookings are in flight, then a restart: once
// the reconciler and the release dispatcher have run, the invariants hold
// and every slot is open or claimed by a BOOKED appointment.

const CALLS = 200;
const SLOTS = 60;
// Short deadlines, so that the grace period (and with it the test) is short.
const TIMING = { catalogTimeoutMs: 2000, reconcileGraceMs: 5000 };

let cluster: Cluster | undefined;
afterEach(() => cluster?.close());

type Outcome = 'booked' | string;

/** Books CALLS times over SLOTS slots through both booking replicas; calls `midway` once a tenth of the answers are in. */
async function bookUnderCrash(c: Cluster, midway: () => Promise<unknown>): Promise<{ outcomes: Outcome[]; bookedIds: string[] }> {
  const slotIds = await seedSlots(c.catalogClient, SLOTS);
  const seeder = c.bookingClientOwnChannel(1);
  const patientIds = await seedPatients(seeder, CALLS);
  seeder.close();

  const clients = Array.from({ length: CALLS }, (_, i) => c.bookingClientOwnChannel(i % 2));
  let answered = 0;
  let crash: Promise<unknown> | undefined;
  const bookedIds: string[] = [];
  const outcomes = await Promise.all(
    clients.map((client, i) =>
      client
        .bookAppointment({ slotId: slotIds[i % SLOTS], patientId: patientIds[i], requestId: `crash-${i}`, reason: '' })
        .then(({ appointment }) => {
          if (appointment?.status !== AppointmentStatus.APPOINTMENT_STATUS_BOOKED) return `status ${appointment?.status}`;
          bookedIds.push(appointment.id);
          return 'booked';
        })
        .catch((err: unknown) => {
          if (!isServiceError(err)) return `error ${String(err)}`;
          return err.code === status.FAILED_PRECONDITION ? (readStatusDetails(err).errorInfo?.reason ?? 'no reason') : status[err.code];
        })
        .finally(() => {
          if (++answered === CALLS / 10) crash = midway();
        }),
    ),
  );
  await crash;
  clients.forEach((client) => client.close());
  return { outcomes, bookedIds };
}

async function expectSettled(c: Cluster, label: string, outcomes: Outcome[], bookedIds: string[], restartedAt: number): Promise<void> {
  const tally = outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [o]: (t[o] ?? 0) + 1 }), {});
  let last: Awaited<ReturnType<Cluster['checkInvariants']>> | undefined;
  const report = await pollUntil(
    'the invariants to hold after reconciliation',
    async () => {
      last = await c.checkInvariants(true);
      return last.violations.length === 0 ? last : undefined;
    },
    60_000,
    250,
  ).catch((err: unknown) => {
    // What was still wrong, and what the services logged, for a failure that only shows under load.
    const serviceErrors = [...c.bookings, ...c.catalogs].flatMap((p) => p.errorLogs());
    throw new Error(`${label}: ${JSON.stringify(tally)}; last check: ${JSON.stringify(last)}; service errors:\n${serviceErrors.slice(0, 5).join('\n')}`, { cause: err });
  });
  const reconcileMs = Math.round(performance.now() - restartedAt);
  console.log(`${label}: ${CALLS} calls over ${SLOTS} slots:`, tally, `; settled ${reconcileMs} ms after the restart:`, report);
  const context = JSON.stringify({ tally, report });
  expect(report.violations).toEqual([]);
  // Every booking a client was told about is real, and no slot is booked twice.
  expect(report.bookedAppointments, context).toBeGreaterThanOrEqual(bookedIds.length);
  expect(report.bookedAppointments, context).toBe(report.claimedSlots);
  expect(report.claimedSlots, context).toBeLessThanOrEqual(SLOTS);
  const booked = await c.bookedAppointmentIds();
  expect(bookedIds.filter((id) => !booked.has(id)), context).toEqual([]);
}

it('settles every booking after a catalog replica is killed mid-rush and restarted', async () => {
  cluster = await startCluster(2, 2, TIMING);
  const c = cluster;
  let restartedAt = 0;
  const { outcomes, bookedIds } = await bookUnderCrash(c, async () => {
    await c.catalogs[0].stop('SIGKILL');
    await c.restartCatalog(0);
    restartedAt = performance.now();
  });
  await expectSettled(c, 'catalog kill -9', outcomes, bookedIds, restartedAt);
}, 180_000);

it('settles every booking after a booking replica is killed mid-rush and restarted', async () => {
  cluster = await startCluster(2, 2, TIMING);
  const c = cluster;
  let restartedAt = 0;
  const { outcomes, bookedIds } = await bookUnderCrash(c, async () => {
    await c.bookings[0].stop('SIGKILL');
    await c.restartBooking(0);
    restartedAt = performance.now();
  });
  await expectSettled(c, 'booking kill -9', outcomes, bookedIds, restartedAt);
}, 180_000);
