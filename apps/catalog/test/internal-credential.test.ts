import { randomUUID } from 'node:crypto';
import { Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogClient, SlotStatus, withBearerToken, type CatalogClient, type Doctor, type Slot } from '@carebook/proto/catalog';
import { expectGrpcError, TEST_INTERNAL_TOKEN } from '@carebook/testing';
import { consecutiveSlots, createClinic, createDoctor, expectRefused, hoursFromNow, searchRequest, startCatalogUnderTest, type CatalogUnderTest } from './harness';
import { createSchedule, EVERY_DAY, rules } from './schedule-fixtures';

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

/** A schedule of a new doctor whose first slot is claimed. */
async function createScheduleWithClaim(): Promise<{ scheduleId: string; slotId: string; claimId: string }> {
  const other = await createDoctor(catalog.client, doctor.clinicId);
  const today = new Date();
  const validFrom = { year: today.getUTCFullYear(), month: today.getUTCMonth() + 1, day: today.getUTCDate() };
  const schedule = await createSchedule(catalog.client, other.id, doctor.clinicId, { validFrom, rules: rules(EVERY_DAY, '09:00', '17:00') });
  const { slots } = await catalog.client.searchSlots(
    searchRequest({ doctorId: schedule.doctorId, startTimeFrom: new Date(), startTimeTo: new Date(Date.now() + 30 * 86_400_000), pageSize: 1 }),
  );
  const claimId = randomUUID();
  await catalog.client.claimSlot({ slotId: slots[0].id, claimId });
  return { scheduleId: schedule.id, slotId: slots[0].id, claimId };
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

  it('serve the public RPCs to a caller without a credential', async () => {
    const slot = await openSlot();
    const { slot: seen } = await catalog.publicClient.getSlot({ id: slot.id });
    expect(seen?.id).toBe(slot.id);
  });

  it('refuse a wrong credential on every RPC, public ones included: a misconfigured caller fails loudly instead of being served as a stranger', async () => {
    const slot = await openSlot();
    await expectGrpcError(strangers.getSlot({ id: slot.id }), status.UNAUTHENTICATED, { reason: 'CREDENTIAL_INVALID' });
    await expectGrpcError(strangers.listClinics({ pageSize: 1, pageToken: '' }), status.UNAUTHENTICATED, { reason: 'CREDENTIAL_INVALID' });
  });

  it('accept every token of the configured list (rotation)', async () => {
    const next = 'n'.repeat(43);
    const rotating = await startCatalogUnderTest({ internalTokens: [TEST_INTERNAL_TOKEN, next] });
    const withNext = createCatalogClient(rotating.address, withBearerToken(next));
    try {
      const clinic = await createClinic(rotating.client);
      const slotDoctor = await createDoctor(rotating.client, clinic.id);
      const { slots } = await rotating.client.createSlots({ doctorId: slotDoctor.id, slots: consecutiveSlots(hoursFromNow(5), 1, 30) });
      const claimId = randomUUID();
      expect((await withNext.claimSlot({ slotId: slots[0].id, claimId })).slot?.claimId).toBe(claimId);
    } finally {
      withNext.close();
      await rotating.close();
    }
  });
});

describe('claim ids', () => {
  it('are shown to the internal credential only, in GetSlot', async () => {
    const { slot, claimId } = await claimedSlot();
    expect((await catalog.client.getSlot({ id: slot.id })).slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_BOOKED, claimId });
    expect((await catalog.publicClient.getSlot({ id: slot.id })).slot).toMatchObject({ status: SlotStatus.SLOT_STATUS_BOOKED, claimId: '' });
  });

  it("are hidden from the public in a deleted schedule's orphaned claimed slots, and shown to the internal credential", async () => {
    const visible = await createScheduleWithClaim();
    const { orphanedClaimedSlots: forInternal } = await catalog.client.deleteSchedule({ id: visible.scheduleId });
    expect(forInternal.map((s) => s.claimId)).toEqual([visible.claimId]);
    const hidden = await createScheduleWithClaim();
    const { orphanedClaimedSlots: forPublic } = await catalog.publicClient.deleteSchedule({ id: hidden.scheduleId });
    expect(forPublic.map((s) => ({ id: s.id, claimId: s.claimId }))).toEqual([{ id: hidden.slotId, claimId: '' }]);
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
