import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotStatus, type Clinic, type Doctor, type SlotInterval } from '@carebook/proto/catalog';
import {
  consecutiveSlots,
  countRows,
  createClinic,
  createDoctor,
  expectRefused,
  hoursFromNow,
  startCatalogUnderTest,
  type CatalogUnderTest,
} from './harness';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let catalog: CatalogUnderTest;
let clinic: Clinic;

beforeAll(async () => {
  catalog = await startCatalogUnderTest();
  clinic = await createClinic(catalog.client);
});

afterAll(async () => {
  await catalog?.close();
});

const newDoctor = () => createDoctor(catalog.client, clinic.id);
const at = (start: Date, minutes: number, lengthMinutes = 30): SlotInterval => ({
  startTime: new Date(+start + minutes * MINUTE),
  endTime: new Date(+start + (minutes + lengthMinutes) * MINUTE),
});
const slotIdsOf = async (doctorId: string) =>
  (await catalog.sql.query<{ id: string }>('SELECT id::text FROM slot WHERE doctor_id = $1 ORDER BY start_time', [doctorId])).rows.map(
    (r) => r.id,
  );

describe('CreateSlots', () => {
  it('creates the batch, in start_time order, open, at the doctor and clinic', async () => {
    const doctor = await newDoctor();
    const base = hoursFromNow(2);
    const intervals = [at(base, 60), at(base, 0), at(base, 30)];
    const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: intervals });
    expect(slots.map((s) => s.startTime)).toEqual([at(base, 0), at(base, 30), at(base, 60)].map((i) => i.startTime));
    for (const slot of slots) {
      expect(slot).toMatchObject({ doctorId: doctor.id, clinicId: clinic.id, status: SlotStatus.SLOT_STATUS_OPEN, claimId: '' });
      expect(+slot.endTime! - +slot.startTime!).toBe(30 * MINUTE);
    }
    const { rows } = await catalog.sql.query(
      `SELECT id::text, clinic_id::text, status::text, claim_id FROM slot WHERE doctor_id = $1 ORDER BY start_time`,
      [doctor.id],
    );
    expect(rows).toEqual(slots.map((s) => ({ id: s.id, clinic_id: clinic.id, status: 'open', claim_id: null })));
  });

  it('accepts back-to-back slots, within the batch and next to existing ones', async () => {
    const doctor = await newDoctor();
    const base = hoursFromNow(3);
    await catalog.client.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(base, 3, 20) });
    await catalog.client.createSlots({ doctorId: doctor.id, slots: [at(base, -20, 20), at(base, 60, 20)] });
    expect(await slotIdsOf(doctor.id)).toHaveLength(5);
  });

  it('lets different doctors have overlapping slots', async () => {
    const [first, second] = [await newDoctor(), await newDoctor()];
    const base = hoursFromNow(4);
    await catalog.client.createSlots({ doctorId: first.id, slots: [at(base, 0, 60)] });
    await catalog.client.createSlots({ doctorId: second.id, slots: [at(base, 15, 60)] });
    expect(await slotIdsOf(first.id)).toHaveLength(1);
    expect(await slotIdsOf(second.id)).toHaveLength(1);
  });

  it('accepts a slot of exactly 24 hours and a batch of 1000', async () => {
    const doctor = await newDoctor();
    const base = hoursFromNow(24 * 5);
    await catalog.client.createSlots({ doctorId: doctor.id, slots: [{ startTime: base, endTime: new Date(+base + 24 * HOUR) }] });
    const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: consecutiveSlots(new Date(+base + 24 * HOUR), 1000, 5) });
    expect(slots).toHaveLength(1000);
    expect(await slotIdsOf(doctor.id)).toHaveLength(1001);
  });
});

describe('CreateSlots refuses bad input', () => {
  let doctor: Doctor;
  const base = hoursFromNow(6);

  beforeAll(async () => {
    doctor = await newDoctor();
  });

  const expectInvalid = (slots: SlotInterval[], field: string, doctorId = doctor.id) =>
    expectRefused(catalog, () => catalog.client.createSlots({ doctorId, slots }), status.INVALID_ARGUMENT, {
      reason: 'INVALID_ARGUMENT',
      field,
    });

  it('a missing doctor id', () => expectInvalid([at(base, 0)], 'doctor_id', ''));
  it('a malformed doctor id', () => expectInvalid([at(base, 0)], 'doctor_id', 'dr-who'));
  it('an empty batch', () => expectInvalid([], 'slots'));
  it('a batch of 1001', () => expectInvalid(consecutiveSlots(base, 1001, 5), 'slots'));
  it('a missing start time', () => expectInvalid([at(base, 0), { startTime: undefined, endTime: base }], 'slots[1].start_time'));
  it('a missing end time', () => expectInvalid([{ startTime: base, endTime: undefined }], 'slots[0].end_time'));
  it('an end equal to the start', () => expectInvalid([at(base, 0, 0)], 'slots[0].end_time'));
  it('an end before the start', () => expectInvalid([at(base, 0), at(base, 60, -10)], 'slots[1].end_time'));
  it('a slot longer than 24 hours', () =>
    expectInvalid([{ startTime: base, endTime: new Date(+base + 24 * HOUR + 1) }], 'slots[0].end_time'));
  it('a slot in the past', () => expectInvalid([at(new Date(Date.now() - HOUR), 0)], 'slots[0].start_time'));

  it('names every bad slot in one error, writing none of the good ones', async () => {
    const err = await expectInvalid([at(base, 0), at(base, 60, 0), at(base, 120), at(base, 180, -5)], 'slots[1].end_time');
    expect(err.badRequest?.fieldViolations.map((v) => v.field)).toEqual(['slots[1].end_time', 'slots[3].end_time']);
  });

  it('answers NOT_FOUND for an unknown doctor, naming it', async () => {
    const doctorId = randomUUID();
    const err = await expectRefused(catalog, () => catalog.client.createSlots({ doctorId, slots: [at(base, 0)] }), status.NOT_FOUND, {
      reason: 'DOCTOR_NOT_FOUND',
    });
    expect(err.errorInfo?.metadata).toEqual({ doctor_id: doctorId });
  });
});

describe('CreateSlots refuses overlaps, all or nothing', () => {
  it('within the batch, naming both slots', async () => {
    const doctor = await newDoctor();
    const base = hoursFromNow(8);
    const slots = [at(base, 0), at(base, 120), at(base, 30), at(base, 100, 30)];
    const err = await expectRefused(catalog, () => catalog.client.createSlots({ doctorId: doctor.id, slots }), status.ALREADY_EXISTS, {
      reason: 'SLOT_OVERLAP',
    });
    expect(err.errorInfo?.metadata).toEqual({ doctor_id: doctor.id, slot_index: '1', conflicting_slot_index: '3' });
    expect(err.details).toContain('slots[1] overlaps slots[3]');
  });

  it('a duplicate interval within the batch', async () => {
    const doctor = await newDoctor();
    const slot = at(hoursFromNow(8), 0);
    await expectRefused(catalog, () => catalog.client.createSlots({ doctorId: doctor.id, slots: [slot, slot] }), status.ALREADY_EXISTS, {
      reason: 'SLOT_OVERLAP',
    });
  });

  it('with an existing slot, naming it, and writes none of the batch', async () => {
    const doctor = await newDoctor();
    const base = hoursFromNow(10);
    const { slots: existing } = await catalog.client.createSlots({ doctorId: doctor.id, slots: [at(base, 60, 30)] });
    const batch = [at(base, 0), at(base, 30), at(base, 75, 30), at(base, 120)];
    const err = await expectRefused(catalog, () => catalog.client.createSlots({ doctorId: doctor.id, slots: batch }), status.ALREADY_EXISTS, {
      reason: 'SLOT_OVERLAP',
    });
    expect(err.errorInfo?.metadata).toEqual({ doctor_id: doctor.id, slot_index: '2', conflicting_slot_id: existing[0].id });
    expect(err.details).toContain(existing[0].id);
    expect(await slotIdsOf(doctor.id)).toEqual([existing[0].id]);
  });

  it('with an existing slot that contains the new one, or is contained by it', async () => {
    const doctor = await newDoctor();
    const base = hoursFromNow(12);
    const { slots: existing } = await catalog.client.createSlots({ doctorId: doctor.id, slots: [at(base, 0, 60)] });
    for (const inner of [at(base, 10, 20), at(base, -30, 120), at(base, 0, 60)]) {
      const err = await expectRefused(catalog, () => catalog.client.createSlots({ doctorId: doctor.id, slots: [inner] }), status.ALREADY_EXISTS, {
        reason: 'SLOT_OVERLAP',
      });
      expect(err.errorInfo?.metadata.conflicting_slot_id).toBe(existing[0].id);
    }
  });

  it('with a booked slot too', async () => {
    const doctor = await newDoctor();
    const base = hoursFromNow(14);
    const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: [at(base, 0)] });
    await catalog.client.claimSlot({ slotId: slots[0].id, claimId: randomUUID() });
    await expectRefused(catalog, () => catalog.client.createSlots({ doctorId: doctor.id, slots: [at(base, 15)] }), status.ALREADY_EXISTS, {
      reason: 'SLOT_OVERLAP',
    });
  });
});

describe('the database itself holds the slot invariants', () => {
  let doctor: Doctor;
  const base = hoursFromNow(30);

  beforeAll(async () => {
    doctor = await newDoctor();
    await catalog.client.createSlots({ doctorId: doctor.id, slots: [at(base, 0, 60)] });
  });

  /** A direct INSERT of one slot row, bypassing the service. */
  const insertSlot = (start: Date, end: Date, status = 'open', claimId: string | null = null) =>
    catalog.sql.query(
      'INSERT INTO slot (doctor_id, clinic_id, start_time, end_time, status, claim_id) VALUES ($1, $2, $3, $4, $5, $6)',
      [doctor.id, clinic.id, start, end, status, claimId],
    );

  const expectSqlError = async (write: () => Promise<unknown>, code: string, constraint: string) => {
    const before = await countRows(catalog.sql);
    await expect(write()).rejects.toMatchObject({ code, constraint });
    expect(await countRows(catalog.sql)).toEqual(before);
  };

  it('refuses an overlapping slot of the same doctor (exclusion constraint)', async () => {
    await expectSqlError(() => insertSlot(at(base, 30).startTime!, at(base, 30).endTime!), '23P01', 'slot_doctor_no_overlap');
  });

  it('accepts a back-to-back slot', async () => {
    await insertSlot(at(base, 60).startTime!, at(base, 60).endTime!);
  });

  it('refuses an end not after the start', async () => {
    await expectSqlError(() => insertSlot(at(base, 600).startTime!, at(base, 600).startTime!), '23514', 'slot_time_order_check');
    await expectSqlError(() => insertSlot(at(base, 600, -5).startTime!, at(base, 600, -5).endTime!), '23514', 'slot_time_order_check');
  });

  it('refuses a slot over 24 hours', async () => {
    const start = at(base, 600).startTime!;
    await expectSqlError(() => insertSlot(start, new Date(+start + 24 * HOUR + 1000)), '23514', 'slot_time_order_check');
  });

  it('refuses a status that disagrees with the claim', async () => {
    const { startTime, endTime } = at(base, 900);
    await expectSqlError(() => insertSlot(startTime!, endTime!, 'booked', null), '23514', 'slot_claim_matches_status_check');
    await expectSqlError(() => insertSlot(startTime!, endTime!, 'open', randomUUID()), '23514', 'slot_claim_matches_status_check');
    const [slotId] = await slotIdsOf(doctor.id);
    await expectSqlError(
      () => catalog.sql.query(`UPDATE slot SET status = 'booked' WHERE id = $1`, [slotId]),
      '23514',
      'slot_claim_matches_status_check',
    );
  });
});
