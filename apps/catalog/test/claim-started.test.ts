import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotStatus, type Slot } from '@carebook/proto/catalog';
import { consecutiveSlots, createClinic, createDoctor, expectRefused, hoursFromNow, startCatalogUnderTest } from './harness';

// ClaimSlot judges whether a slot has started by catalog's database clock, so
// that booking needs no GetSlot before its claim (docs/booking-protocol.md §2).

let catalog: Awaited<ReturnType<typeof startCatalogUnderTest>>;
let clinicId: string;

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
  clinicId = (await createClinic(catalog.client)).id;
});

afterAll(async () => {
  await catalog?.close();
});

async function openSlot(): Promise<Slot> {
  const doctor = await createDoctor(catalog.client, clinicId);
  const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(hoursFromNow(1), 1, 30) });
  return slots[0];
}

/** Moves the slot so that it started a minute ago, by the database's clock (each slot has its own doctor: no overlap). */
async function startNow(slotId: string): Promise<void> {
  await catalog.sql.query(`UPDATE slot SET start_time = now() - interval '1 minute', end_time = now() + interval '29 minutes' WHERE id = $1`, [slotId]);
}

describe('ClaimSlot of a slot that has started', () => {
  it('is refused with SLOT_IN_PAST, booking or holding, and nothing changes', async () => {
    const slot = await openSlot();
    await startNow(slot.id);
    await expectRefused(catalog, () => catalog.client.claimSlot({ slotId: slot.id, claimId: randomUUID() }), status.FAILED_PRECONDITION, {
      reason: 'SLOT_IN_PAST',
    });
    await expectRefused(
      catalog,
      () => catalog.client.claimSlot({ slotId: slot.id, claimId: randomUUID(), holdDuration: { seconds: 60, nanos: 0 } }),
      status.FAILED_PRECONDITION,
      { reason: 'SLOT_IN_PAST' },
    );
  });

  it('still answers a retry of the claim that booked it before it started', async () => {
    const slot = await openSlot();
    const claimId = randomUUID();
    await catalog.client.claimSlot({ slotId: slot.id, claimId });
    await startNow(slot.id);
    const { slot: again } = await catalog.client.claimSlot({ slotId: slot.id, claimId });
    expect(again).toMatchObject({ id: slot.id, status: SlotStatus.SLOT_STATUS_BOOKED, claimId });
  });

  it('is NOT_FOUND for an unknown slot', async () => {
    await expectRefused(catalog, () => catalog.client.claimSlot({ slotId: randomUUID(), claimId: randomUUID() }), status.NOT_FOUND, {});
  });
});
