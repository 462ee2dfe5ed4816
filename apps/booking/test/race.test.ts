import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AppointmentStatus } from '@carebook/proto/booking';
import { isServiceError, readStatusDetails } from '@carebook/server';
import { startCluster, type Cluster } from './cluster';
import { seedPatients, seedSlots } from './fixtures';

// Two catalog and two booking processes share the two databases; 500
// clients, each on its own channel, race for 20 slots through both booking
// replicas: booking them, then (on 20 other slots) holding them.

const CALLS = 500;
const SLOTS = 20;

let cluster: Cluster;
beforeAll(async () => {
  // Generous deadlines: on a loaded two-core machine a deadline would turn
  // slowness into errors, and this test counts exact outcomes.
  cluster = await startCluster(2, 2, { catalogTimeoutMs: 15_000, reconcileGraceMs: 40_000 });
});
afterAll(() => cluster?.close());

it('books each of 20 slots exactly once among 500 concurrent requests', async () => {
  const slotIds = await seedSlots(cluster.catalogClient, SLOTS);
  const seeder = cluster.bookingClientOwnChannel(0);
  const patientIds = await seedPatients(seeder, CALLS);
  seeder.close();

  const clients = Array.from({ length: CALLS }, (_, i) => cluster.bookingClientOwnChannel(i % 2));
  const started = performance.now();
  const outcomes = await Promise.all(
    clients.map((client, i) =>
      client
        .bookAppointment({ slotId: slotIds[i % SLOTS], patientId: patientIds[i], requestId: `rush-${i}`, reason: 'check-up' })
        .then(({ appointment }) => (appointment?.status === AppointmentStatus.APPOINTMENT_STATUS_BOOKED ? 'booked' : `status ${appointment?.status}`))
        .catch((err: unknown) => {
          if (isServiceError(err) && err.code === status.FAILED_PRECONDITION) return readStatusDetails(err).errorInfo?.reason ?? 'no reason';
          return `error ${String(err)}`;
        }),
    ),
  );
  const elapsedMs = Math.round(performance.now() - started);
  clients.forEach((c) => c.close());

  const tally = outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [o]: (t[o] ?? 0) + 1 }), {});
  console.log(`race: ${CALLS} calls over ${SLOTS} slots via 2 booking + 2 catalog processes in ${elapsedMs} ms:`, tally);
  const serviceErrors = [...cluster.bookings, ...cluster.catalogs].flatMap((p) => p.errorLogs());
  expect(tally, `service error logs:\n${serviceErrors.slice(0, 5).join('\n')}`).toEqual({ booked: SLOTS, SLOT_UNAVAILABLE: CALLS - SLOTS });

  const report = await cluster.checkInvariants(true);
  expect(report.violations).toEqual([]);
  expect(report.bookedAppointments).toBe(SLOTS);
  expect(report.claimedSlots).toBe(SLOTS);
}, 120_000);

it('holds each of 20 slots exactly once among 500 concurrent HoldAppointment requests', async () => {
  const slotIds = await seedSlots(cluster.catalogClient, SLOTS);
  const seeder = cluster.bookingClientOwnChannel(0);
  const patientIds = await seedPatients(seeder, CALLS);
  seeder.close();

  const clients = Array.from({ length: CALLS }, (_, i) => cluster.bookingClientOwnChannel(i % 2));
  const started = performance.now();
  const outcomes = await Promise.all(
    clients.map((client, i) =>
      client
        .holdAppointment({ slotId: slotIds[i % SLOTS], patientId: patientIds[i], requestId: `hold-rush-${i}`, reason: '', holdDuration: { seconds: 600, nanos: 0 } })
        .then(({ appointment }) => (appointment?.status === AppointmentStatus.APPOINTMENT_STATUS_HELD ? 'held' : `status ${appointment?.status}`))
        .catch((err: unknown) => {
          if (isServiceError(err) && err.code === status.FAILED_PRECONDITION) return readStatusDetails(err).errorInfo?.reason ?? 'no reason';
          return `error ${String(err)}`;
        }),
    ),
  );
  const elapsedMs = Math.round(performance.now() - started);
  clients.forEach((c) => c.close());

  const tally = outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [o]: (t[o] ?? 0) + 1 }), {});
  console.log(`hold race: ${CALLS} calls over ${SLOTS} slots via 2 booking + 2 catalog processes in ${elapsedMs} ms:`, tally);
  const serviceErrors = [...cluster.bookings, ...cluster.catalogs].flatMap((p) => p.errorLogs());
  expect(tally, `service error logs:\n${serviceErrors.slice(0, 5).join('\n')}`).toEqual({ held: SLOTS, SLOT_UNAVAILABLE: CALLS - SLOTS });

  const report = await cluster.checkInvariants(true);
  expect(report.violations).toEqual([]);
  expect(report.heldAppointments).toBe(SLOTS);
  expect(report.heldSlots).toBe(SLOTS);
}, 120_000);
