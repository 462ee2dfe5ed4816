import { randomUUID } from 'node:crypto';
import { Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogClient, SlotStatus, withBearerToken, type CatalogClient, type Doctor, type Slot } from '@carebook/proto/catalog';
import { expectGrpcError } from '@carebook/testing';
import { consecutiveSlots, createClinic, createDoctor, expectRefused, hoursFromNow, searchRequest, startCatalogUnderTest, type CatalogUnderTest } from './harness';

// catalog's internal RPCs, ClaimSlot and ReleaseSlot, belong to booking: any
// other caller is refused before anything is read or written, and slots show
// their claim id (an appointment's id) only to the internal credential.
// Claims carry an absolute deadline, judged by the database's clock.

let catalog: CatalogUnderTest;
let doctor: Doctor;
let strangers: CatalogClient;
let nextHour = 200;

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
  doctor = await createDoctor(catalog.client, (await createClinic(catalog.client)).id);
  strangers = createCatalogClient(catalog.address, withBearerToken('x'.repeat(43)));
});

afterAll(async () => {
  strangers?.close();
  await catalog?.close();
});

async function openSlot(): Promise<Slot> {
  const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(hoursFromNow(++nextHour), 1, 30) });
  return slots[0];
}

async function claimedSlot(): Promise<{ slot: Slot; claimId: string }> {
  const slot = await openSlot();
  const claimId = randomUUID();
  await catalog.client.claimSlot({ slotId: slot.id, claimId });
  return { slot, claimId };
}

describe('the internal RPCs', () => {
  it('refuse a ReleaseSlot without the credential, leaving the booked slot alone', async () => {
    const { slot, claimId } = await claimedSlot();
    const err = await expectRefused(catalog, () => catalog.publicClient.releaseSlot({ slotId: slot.id, claimId }), status.UNAUTHENTICATED, {
      reason: 'CREDENTIAL_MISSING',
    });
    expect(err.details).toContain('authorization: Bearer');
  });

  it('refuse a ClaimSlot without the credential, leaving the open slot open', async () => {
    const slot = await openSlot();
    await expectRefused(catalog, () => catalog.publicClient.claimSlot({ slotId: slot.id, claimId: randomUUID() }), status.UNAUTHENTICATED, {
      reason: 'CREDENTIAL_MISSING',
    });
  });

  it.each([
    ['a wrong token', `Bearer ${'x'.repeat(43)}`],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a token with spaces', 'Bearer not a token'],
  ])('refuse %s as CREDENTIAL_INVALID', async (_, header) => {
    const { slot, claimId } = await claimedSlot();
    const metadata = new Metadata();
    metadata.set('authorization', header);
    await expectRefused(catalog, () => catalog.publicClient.releaseSlot({ slotId: slot.id, claimId }, { metadata }), status.UNAUTHENTICATED, {
      reason: 'CREDENTIAL_INVALID',
    });
  });

  it('refuse even a malformed request without the credential as unauthenticated, not as invalid', async () => {
    await expectGrpcError(strangers.claimSlot({ slotId: 'nope', claimId: '' }), status.UNAUTHENTICATED, { reason: 'CREDENTIAL_INVALID' });
  });

  it('serve the public RPCs to any caller', async () => {
    const slot = await openSlot();
    const { slot: seen } = await strangers.getSlot({ id: slot.id });
    expect(seen?.id).toBe(slot.id);
  });
});

describe('claim ids', () => {
  it('are shown to the internal credential only, in GetSlot, SearchSlots and FindNextAvailable', async () => {
    const { slot, claimId } = await claimedSlot();
    expect((await catalog.client.getSlot({ id: slot.id })).slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_BOOKED, claimId });
    expect((await catalog.publicClient.getSlot({ id: slot.id })).slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_BOOKED, claimId: '' });
    expect((await strangers.getSlot({ id: slot.id })).slot?.claimId).toBe('');
  });

  it('are empty in every slot a search returns to the public (searches return open slots only)', async () => {
    const slot = await openSlot();
    const search = searchRequest({ doctorId: doctor.id, startTimeFrom: slot.startTime, startTimeTo: slot.endTime });
    const { slots } = await catalog.publicClient.searchSlots(search);
    expect(slots.map((s) => s.claimId)).toEqual(['']);
  });
});

describe('claim deadlines', () => {
  it('refuse a claim whose absolute deadline has passed by the database clock, writing nothing', async () => {
    const slot = await openSlot();
    await expectRefused(
      catalog,
      () => catalog.client.claimSlot({ slotId: slot.id, claimId: randomUUID(), deadline: new Date(Date.now() - 1000) }),
      status.DEADLINE_EXCEEDED,
      { reason: 'CLAIM_DEADLINE_PASSED' },
    );
  });

  it('take a claim before its absolute deadline, whatever the call deadline', async () => {
    const slot = await openSlot();
    const claimId = randomUUID();
    const { slot: claimed } = await catalog.client.claimSlot({ slotId: slot.id, claimId, deadline: new Date(Date.now() + 60_000) });
    expect(claimed).toMatchObject({ status: SlotStatus.SLOT_STATUS_BOOKED, claimId });
  });

  it('answer SLOT_UNAVAILABLE, not a deadline, for a taken slot within the deadline', async () => {
    const { slot } = await claimedSlot();
    await expectRefused(
      catalog,
      () => catalog.client.claimSlot({ slotId: slot.id, claimId: randomUUID(), deadline: new Date(Date.now() + 60_000) }),
      status.FAILED_PRECONDITION,
      { reason: 'SLOT_UNAVAILABLE' },
    );
  });

  it('refuse a deadline outside the supported range as INVALID_ARGUMENT naming it', async () => {
    const slot = await openSlot();
    await expectRefused(catalog, () => catalog.client.claimSlot({ slotId: slot.id, claimId: randomUUID(), deadline: new Date('-000001-01-01T00:00:00Z') }), status.INVALID_ARGUMENT, {
      field: 'deadline',
    });
  });
});
