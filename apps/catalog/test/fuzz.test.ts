// Property-based fuzzing of every CatalogService RPC: a valid request built
// from the fixtures below, one field (or the whole encoding) mutated, sent raw.
// No reply may be INTERNAL or UNKNOWN, or larger than 16 KB, and a refused call
// must leave the database unchanged. FUZZ_SEED, FUZZ_TIME_MS, FUZZ_PATH and
// FUZZ_REPORT=1 (print every finding instead of failing): see libs/testing/src/fuzz.

import { randomUUID } from 'node:crypto';
import { Metadata, type Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CatalogServiceService as Catalog,
  Modality,
  ScheduleExceptionKind,
  type Clinic,
  type Doctor,
  type Schedule,
  type SearchSlotsRequest,
} from '@carebook/proto/catalog';
import { callRaw, createRawClient, fuzzServices, fuzzSettingsFromEnv, fuzzTarget, TEST_INTERNAL_TOKEN, type FuzzTarget } from '@carebook/testing';
import { consecutiveSlots, createClinic, createDoctor, hoursFromNow, startCatalogUnderTest, type CatalogUnderTest } from './harness';
import { DayOfWeek, createSchedule, rules, scheduleOf, minutes, tod } from './schedule-fixtures';

const settings = fuzzSettingsFromEnv();
const DAY = 86_400_000;
let catalog: CatalogUnderTest;
let raw: Client;
let fixtures: Awaited<ReturnType<typeof seedCatalog>>;

/** The metadata of ClaimSlot and ReleaseSlot: the internal credential, so the fuzz reaches their validation. */
const slotClaimMetadata = () => {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${TEST_INTERNAL_TOKEN}`);
  return metadata;
};

/** The longest hold catalog grants: the held slot stays held for the whole run. */
const HOLD = { seconds: 3600, nanos: 0 };

/** A google.type.Date `days` from today (UTC). */
const dateIn = (days: number) => {
  const d = new Date(Date.now() + days * DAY);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
};

/** Clinics, doctors, schedules, slots (one claimed, one claimed then to release, one held) and a page token of each list. */
async function seedCatalog(c: CatalogUnderTest) {
  const clinic = await createClinic(c.client, { location: { latitude: 52.52, longitude: 13.405 } });
  const otherClinic = await createClinic(c.client, { displayName: 'Praxis am Park' });
  const doctor = await createDoctor(c.client, clinic.id);
  const slotDoctor = await createDoctor(c.client, clinic.id, { displayName: 'Dr. Slots' });
  const scheduleDoctor = await createDoctor(c.client, clinic.id, { displayName: 'Dr. New Schedule' });
  const schedule = await createSchedule(c.client, doctor.id, clinic.id, { validFrom: dateIn(1), rules: rules([DayOfWeek.MONDAY], '09:00', '12:00') });
  await createSchedule(c.client, doctor.id, clinic.id, { validFrom: dateIn(1), rules: rules([DayOfWeek.SATURDAY], '09:00', '10:00') });
  const doomedSchedule = await createSchedule(c.client, doctor.id, clinic.id, { validFrom: dateIn(1), rules: rules([DayOfWeek.SUNDAY], '09:00', '10:00') });
  const base = hoursFromNow(48);
  const { slots } = await c.client.createSlots({ doctorId: slotDoctor.id, slots: consecutiveSlots(base, 6), clinicId: clinic.id });
  const claimId = randomUUID();
  const releaseClaimId = randomUUID();
  await c.client.claimSlot({ slotId: slots[1].id, claimId });
  await c.client.claimSlot({ slotId: slots[2].id, claimId: releaseClaimId });
  const holdClaimId = randomUUID();
  await c.client.claimSlot({ slotId: slots[3].id, claimId: holdClaimId, holdDuration: HOLD });
  const search = searchOf(clinic, slotDoctor, base);
  return {
    clinic, otherClinic, doctor, slotDoctor, scheduleDoctor, schedule, doomedSchedule, slots, claimId, releaseClaimId, holdClaimId, base, search,
    tokens: {
      clinics: (await c.client.listClinics({ pageSize: 1, pageToken: '' })).nextPageToken,
      doctors: (await c.client.listDoctors({ clinicId: clinic.id, specialty: 'cardiology', pageSize: 1, pageToken: '' })).nextPageToken,
      schedules: (await c.client.listSchedules({ doctorId: doctor.id, pageSize: 1, pageToken: '' })).nextPageToken,
      slots: (await c.client.searchSlots(search)).nextPageToken,
    },
  };
}

/** A search with every filter set (so each can be mutated) that still finds the slot doctor's open slots, a page at a time. */
function searchOf(clinic: Clinic, doctor: Doctor, base: Date): SearchSlotsRequest {
  return {
    specialty: 'cardiology',
    clinicId: clinic.id,
    doctorId: doctor.id,
    startTimeFrom: base,
    startTimeTo: new Date(+base + DAY),
    pageSize: 1,
    pageToken: '',
    near: { latitude: 52.52, longitude: 13.405 },
    radiusKm: 50,
    localTimeFrom: tod('00:00'),
    localTimeTo: { hours: 24, minutes: 0, seconds: 0, nanos: 0 },
    timeZone: 'Europe/Berlin',
    // With near, only in-person slots match (VIDEO would be refused).
    modality: Modality.MODALITY_IN_PERSON,
  };
}

let nextSlotOffset = 0;
/** A fresh 20-minute interval each time, 30 days out, so the valid CreateSlots does not overlap its predecessors. */
function freshInterval() {
  const start = new Date(+fixtures.base + 30 * DAY + nextSlotOffset++ * 20 * 60_000);
  return { startTime: start, endTime: new Date(+start + 20 * 60_000) };
}

/** A schedule as a client would send it back: output-only fields set too, so they are fuzzed. */
const scheduleRequest = (s: Schedule, fields: Partial<Schedule> = {}): Schedule => ({ ...scheduleOf(s), ...fields });

/** Every CatalogService RPC with a valid request from the fixtures. */
function catalogTargets(): FuzzTarget[] {
  const f = fixtures;
  return [
    fuzzTarget(Catalog.createClinic, () => ({ clinic: f.clinic })),
    fuzzTarget(Catalog.getClinic, () => ({ id: f.clinic.id })),
    fuzzTarget(Catalog.listClinics, () => ({ pageSize: 1, pageToken: f.tokens.clinics })),
    fuzzTarget(Catalog.createDoctor, () => ({ doctor: f.doctor })),
    fuzzTarget(Catalog.getDoctor, () => ({ id: f.doctor.id })),
    fuzzTarget(Catalog.batchGetDoctors, () => ({ ids: [f.doctor.id] })),
    fuzzTarget(Catalog.listDoctors, () => ({ clinicId: f.clinic.id, specialty: 'cardiology', pageSize: 1, pageToken: f.tokens.doctors })),
    fuzzTarget(Catalog.addDoctorClinic, () => ({ doctorId: f.doctor.id, clinicId: f.otherClinic.id })),
    fuzzTarget(Catalog.createSchedule, () => ({
      schedule: scheduleRequest(f.schedule, { doctorId: f.scheduleDoctor.id, validUntil: dateIn(30), slotDuration: minutes(20) }),
    })),
    fuzzTarget(Catalog.getSchedule, () => ({ id: f.schedule.id })),
    fuzzTarget(Catalog.listSchedules, () => ({ doctorId: f.doctor.id, pageSize: 1, pageToken: f.tokens.schedules })),
    fuzzTarget(Catalog.updateSchedule, () => ({
      schedule: scheduleRequest(f.schedule, { validUntil: dateIn(60) }),
      updateMask: ['rules', 'slot_duration', 'valid_from', 'valid_until'],
    })),
    fuzzTarget(Catalog.deleteSchedule, () => ({ id: f.doomedSchedule.id })),
    fuzzTarget(Catalog.addScheduleException, () => ({
      scheduleId: f.schedule.id,
      date: dateIn(8),
      kind: ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_EXTRA,
      startLocalTime: tod('18:00'),
      endLocalTime: tod('19:00'),
      modality: Modality.MODALITY_VIDEO,
    })),
    fuzzTarget(Catalog.createSlots, () => ({ doctorId: f.slotDoctor.id, slots: [freshInterval()], clinicId: f.clinic.id, modality: Modality.MODALITY_VIDEO })),
    fuzzTarget(Catalog.searchSlots, () => ({ ...f.search, pageToken: f.tokens.slots })),
    fuzzTarget(Catalog.findNextAvailable, () => {
      const { specialty, clinicId, near, radiusKm, localTimeFrom, localTimeTo, timeZone, modality } = f.search;
      return { specialty, clinicId, near, radiusKm, after: f.base, limit: 5, localTimeFrom, localTimeTo, timeZone, modality };
    }),
    fuzzTarget(Catalog.getSlot, () => ({ id: f.slots[0].id })),
    fuzzTarget(Catalog.claimSlot, () => ({ slotId: f.slots[1].id, claimId: f.claimId, deadline: new Date(Date.now() + 3_600_000) }), slotClaimMetadata),
    fuzzTarget(Catalog.releaseSlot, () => ({ slotId: f.slots[2].id, claimId: f.releaseClaimId }), slotClaimMetadata),
    // A hold's retry, which returns the running hold unchanged.
    fuzzTarget(Catalog.claimSlot, () => ({ slotId: f.slots[3].id, claimId: f.holdClaimId, holdDuration: HOLD }), slotClaimMetadata),
  ];
}

beforeAll(async () => {
  catalog = await startCatalogUnderTest({ slotHorizonDays: 14 });
  fixtures = await seedCatalog(catalog);
  raw = createRawClient(catalog.address);
});

afterAll(async () => {
  raw?.close();
  await catalog?.close();
});

describe('CatalogService fuzz', () => {
  it('accepts the valid request of every RPC (the fuzz starts from these)', async () => {
    const refused = [];
    for (const target of catalogTargets()) {
      const reply = await callRaw(raw, target.path, target.codec.encode(target.valid()).finish(), target.metadata?.());
      if (reply.code !== 0) refused.push(`${target.rpc}: ${reply.code} ${reply.details}`);
    }
    expect(refused).toEqual([]);
    expect(Object.values(fixtures.tokens).every(Boolean), 'every list has a second page').toBe(true);
  });

  it('never answers INTERNAL or UNKNOWN, never replies over 16 KB, and writes nothing when it refuses', async () => {
    await fuzzServices({ address: catalog.address, targets: catalogTargets(), databases: { catalog: catalog.sql }, settings });
  }, settings.timeMs + 120_000);
});
