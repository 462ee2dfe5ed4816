import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentStatus, type Patient } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { createLogger, outageLog } from '@carebook/server';
import { checkBookingInvariants, expectGrpcError, TEST_INTERNAL_TOKEN } from '@carebook/testing';
import { appointmentsRepo } from '../src/appointments/repo';
import { catalogGateway } from '../src/catalog-gateway';
import { conflictResolver } from '../src/conflicts/resolver';
import { releaseDispatcher } from '../src/releases/dispatcher';
import { releasesRepo } from '../src/releases/repo';
import { book, createPatient, createSchedule, newRequestId, storedAppointment, storedSlot } from './booking-fixtures';
import { startBookingUnderTest, TEST_BOOKING_OPTIONS, type BookingUnderTest } from './harness';

// A slot taken from under a booked appointment: someone with the internal
// credential released it in catalog. The next booking of that slot wins its
// claim in catalog, then collides with booking's one-booked-per-slot index.
// That caller is told SLOT_UNAVAILABLE (never INTERNAL), the stray claim is
// given back, the conflict is recorded once, and the reconciler claims the
// slot back for the booked appointment.

let sys: BookingUnderTest;
let alice: Patient;
let bob: Patient;
let carol: Patient;
let slots: Slot[];
let used = 0;
const freshSlot = () => slots[used++];

beforeAll(async () => {
  // No memory of taken slots, so every booking asks catalog.
  sys = await startBookingUnderTest({ takenSlotMemoryMs: 0 });
  [alice, bob, carol] = await Promise.all([createPatient(sys.client), createPatient(sys.client), createPatient(sys.client)]);
  ({ slots } = await createSchedule(sys.catalog.client, 8));
});
afterAll(() => sys?.close());

async function conflictsOf(appointmentId: string) {
  const { rows } = await sys.sql.query(
    'SELECT slot_id::text, resolution::text, resolve_time IS NOT NULL AS resolved FROM slot_conflict WHERE appointment_id = $1 ORDER BY detect_time',
    [appointmentId],
  );
  return rows;
}

const invariants = () => checkBookingInvariants(sys.catalog.databaseUrl, sys.databaseUrl, { settled: true, graceMs: TEST_BOOKING_OPTIONS.reconcileGraceMs });

/** Alice's booking of a fresh slot, whose claim is then released in catalog behind booking's back. */
async function bookedThenTaken() {
  const slot = freshSlot();
  const appointment = await book(sys, alice, slot);
  await sys.catalog.client.releaseSlot({ slotId: slot.id, claimId: appointment.id });
  expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
  return { slot, appointment };
}

describe('a slot taken from under a booked appointment', () => {
  it('cannot be taken by a caller without the internal credential', async () => {
    const slot = freshSlot();
    const appointment = await book(sys, alice, slot);
    await expectGrpcError(sys.catalog.publicClient.releaseSlot({ slotId: slot.id, claimId: appointment.id }), status.UNAUTHENTICATED);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: appointment.id });
  });

  it('answers the next booking SLOT_UNAVAILABLE, gives its claim back, records the conflict once, and claims the slot back', async () => {
    const { slot, appointment } = await bookedThenTaken();

    const requestId = newRequestId();
    const err = await expectGrpcError(
      sys.client.bookAppointment({ slotId: slot.id, patientId: bob.id, requestId, reason: '' }),
      status.FAILED_PRECONDITION,
      { reason: 'SLOT_UNAVAILABLE' },
    );
    const strayId = err.errorInfo!.metadata.appointment_id;
    expect((await storedAppointment(sys.sql, strayId)).status).toBe('failed');
    // The stray claim was released at once.
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
    // A retry is answered the same, and a second patient meets the same conflict: still one record.
    await expectGrpcError(sys.client.bookAppointment({ slotId: slot.id, patientId: bob.id, requestId, reason: '' }), status.FAILED_PRECONDITION, {
      reason: 'SLOT_UNAVAILABLE',
    });
    await expectGrpcError(sys.client.bookAppointment({ slotId: slot.id, patientId: carol.id, requestId: newRequestId(), reason: '' }), status.FAILED_PRECONDITION, {
      reason: 'SLOT_UNAVAILABLE',
    });
    expect(await conflictsOf(appointment.id)).toEqual([{ slot_id: slot.id, resolution: null, resolved: false }]);
    expect((await invariants()).violations).toContainEqual(expect.stringContaining(`slot conflict open: booked appointment ${appointment.id}`));

    await sys.service.reconciler.reconcileOnce();
    expect(await conflictsOf(appointment.id)).toEqual([{ slot_id: slot.id, resolution: 'reclaimed', resolved: true }]);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: appointment.id });
    const { appointment: still } = await sys.client.getAppointment({ id: appointment.id });
    expect(still?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_BOOKED);
    expect((await invariants()).violations).toEqual([]);
  });

  it('keeps trying while the stray claim holds the slot, then closes the conflict once the appointment is cancelled', async () => {
    const { slot, appointment } = await bookedThenTaken();
    // A claim from outside booking, which booking cannot give back.
    await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: appointment.slotId });
    await sys.catalog.client.releaseSlot({ slotId: slot.id, claimId: appointment.slotId });
    await expectGrpcError(sys.client.bookAppointment({ slotId: slot.id, patientId: bob.id, requestId: newRequestId(), reason: '' }), status.FAILED_PRECONDITION, {
      reason: 'SLOT_UNAVAILABLE',
    });
    const stranger = '00000000-0000-4000-8000-000000000001';
    await sys.catalog.client.claimSlot({ slotId: slot.id, claimId: stranger });

    await sys.service.reconciler.reconcileOnce();
    await sys.service.reconciler.reconcileOnce();
    const { rows } = await sys.sql.query('SELECT attempts, resolve_time FROM slot_conflict WHERE appointment_id = $1', [appointment.id]);
    expect(rows).toEqual([{ attempts: 2, resolve_time: null }]);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: stranger });

    const { appointment: cancelled } = await sys.client.cancelAppointment({ id: appointment.id, reason: 'no longer needed' });
    expect(cancelled?.status).toBe(AppointmentStatus.APPOINTMENT_STATUS_CANCELLED);
    // Catalog left the stranger's claim alone: the release was not its to make.
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'booked', claim_id: stranger });
    await sys.service.reconciler.reconcileOnce();
    expect(await conflictsOf(appointment.id)).toEqual([{ slot_id: slot.id, resolution: 'not_booked', resolved: true }]);
    await sys.catalog.client.releaseSlot({ slotId: slot.id, claimId: stranger });
  });
});

describe('the resolver', () => {
  /** The resolver of the running service, but with `beforeClaim` run just before each re-claim reaches catalog. */
  function resolverWith(beforeClaim: () => Promise<unknown>) {
    const log = createLogger('test', 'silent');
    const catalog = catalogGateway(sys.catalogClientOfBooking, { timeoutMs: 2000, internalToken: TEST_INTERNAL_TOKEN, reachability: outageLog(log, 'catalog') });
    const appointments = appointmentsRepo(sys.prisma, sys.sql, { releaseLeaseMs: 2000 });
    const releases = releaseDispatcher(releasesRepo(sys.prisma), catalog, log, { maxBackoffMs: 1000, leaseMs: 2000 });
    const slowCatalog = { claimSlot: async (...args: Parameters<typeof catalog.claimSlot>) => (await beforeClaim(), catalog.claimSlot(...args)) };
    return conflictResolver({ conflicts: sys.service.conflicts, appointments, catalog: slowCatalog, releases, log });
  }

  async function conflictFor(slot: Slot, appointmentId: string): Promise<void> {
    await expectGrpcError(sys.client.bookAppointment({ slotId: slot.id, patientId: bob.id, requestId: newRequestId(), reason: '' }), status.FAILED_PRECONDITION, {
      reason: 'SLOT_UNAVAILABLE',
    });
    expect(await conflictsOf(appointmentId)).toEqual([{ slot_id: slot.id, resolution: null, resolved: false }]);
  }

  it('gives the slot back when the appointment is cancelled between its read and the re-claim', async () => {
    const { slot, appointment } = await bookedThenTaken();
    await conflictFor(slot, appointment.id);
    // The cancellation's own release finds the slot open and does nothing; the re-claim then lands.
    const resolver = resolverWith(() => sys.client.cancelAppointment({ id: appointment.id, reason: 'cancelled meanwhile' }));
    expect(await resolver.resolveOnce()).toBe(1);
    expect(await conflictsOf(appointment.id)).toEqual([{ slot_id: slot.id, resolution: 'not_booked', resolved: true }]);
    expect(await storedSlot(sys.catalog, slot.id)).toEqual({ status: 'open', claim_id: null });
    expect((await invariants()).violations).toEqual([]);
  });

  it('closes the conflict as slot_gone when catalog no longer has the slot', async () => {
    const { slot, appointment } = await bookedThenTaken();
    await conflictFor(slot, appointment.id);
    await sys.catalog.sql.query('DELETE FROM slot WHERE id = $1', [slot.id]);
    await sys.service.reconciler.reconcileOnce();
    expect(await conflictsOf(appointment.id)).toEqual([{ slot_id: slot.id, resolution: 'slot_gone', resolved: true }]);
  });
});
