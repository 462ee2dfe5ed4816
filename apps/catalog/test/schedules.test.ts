// CreateSchedule, GetSchedule, ListSchedules and DeleteSchedule through real
// gRPC, with the clock fixed on Monday 2027-01-04 07:00 in Berlin and a
// 14-day horizon, so every count below is exact.

import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotStatus, type Clinic } from '@carebook/proto/catalog';
import { countRows, createClinic, createDoctor, expectRefused, searchRequest, startCatalogUnderTest, walkPages, type CatalogUnderTest } from './harness';
import {
  DayOfWeek,
  OFFICE_HOURS,
  WEEKDAYS,
  createSchedule,
  day,
  expectNoOverlap,
  minutes,
  rules,
  scheduleOf,
  slotsOfDoctor,
  slotsOfSchedule,
  tod,
} from './schedule-fixtures';

const NOW = new Date('2027-01-04T06:00:00Z'); // Monday, 07:00 in Berlin
let catalog: CatalogUnderTest;
let berlin: Clinic;
let potsdam: Clinic;

beforeAll(async () => {
  catalog = await startCatalogUnderTest({ now: () => NOW, slotHorizonDays: 14 });
  berlin = await createClinic(catalog.client, { displayName: 'Praxis Berlin', timeZone: 'Europe/Berlin' });
  potsdam = await createClinic(catalog.client, { displayName: 'Praxis Potsdam', timeZone: 'Europe/Berlin', address: 'Markt 1, Potsdam' });
});

afterAll(async () => {
  await catalog?.close();
});

const newDoctor = () => createDoctor(catalog.client, berlin.id);
const create = (doctorId: string, fields: Parameters<typeof createSchedule>[3] = { validFrom: day('2027-01-04') }) =>
  createSchedule(catalog.client, doctorId, berlin.id, fields);

describe('CreateSchedule', () => {
  it("stores the schedule and materialises the issue's office hours over the horizon at once", async () => {
    const doctor = await newDoctor();
    const schedule = await create(doctor.id);
    expect(schedule).toMatchObject({
      doctorId: doctor.id,
      clinicId: berlin.id,
      slotDuration: { seconds: 1200, nanos: 0 },
      validFrom: { year: 2027, month: 1, day: 4 },
      validUntil: undefined,
      exceptions: [],
      materialisedThrough: { year: 2027, month: 1, day: 18 },
    });
    // Rules come back by day, then start.
    expect(schedule.rules.map((r) => [r.dayOfWeek, r.startLocalTime!.hours, r.endLocalTime!.hours])).toEqual(
      WEEKDAYS.flatMap((d) => [
        [d, 9, 12],
        [d, 14, 17],
      ]),
    );
    const slots = await slotsOfSchedule(catalog.sql, schedule.id);
    // Weekdays from 2027-01-04 to 2027-01-18 (today + 14): 11 days of 10 + 9 slots.
    expect(slots).toHaveLength(11 * 19);
    expect(slots.every((s) => s.status === 'open' && s.clinic_id === berlin.id && +s.end_time - +s.start_time === 20 * 60_000)).toBe(true);
    expect(slots[0].start_time.toISOString()).toBe('2027-01-04T08:00:00.000Z'); // 09:00 CET
    expect(slots.at(-1)!.start_time.toISOString()).toBe('2027-01-18T15:40:00.000Z'); // 16:40 CET
    expectNoOverlap(slots);
  });

  it('makes the slots searchable like any other', async () => {
    const doctor = await newDoctor();
    await create(doctor.id);
    const { items } = await walkPages(async (pageToken) => {
      const page = await catalog.client.searchSlots(
        searchRequest({ doctorId: doctor.id, startTimeFrom: new Date('2027-01-05T00:00:00Z'), startTimeTo: new Date('2027-01-06T00:00:00Z'), pageToken }),
      );
      return { items: page.slots, nextPageToken: page.nextPageToken };
    });
    expect(items).toHaveLength(19);
    expect(items.every((s) => s.status === SlotStatus.SLOT_STATUS_OPEN && s.clinicId === berlin.id)).toBe(true);
  });

  it('only makes slots after now: today before 07:00 is gone, the rest of today is there', async () => {
    const doctor = await newDoctor();
    const schedule = await create(doctor.id, { rules: rules([DayOfWeek.MONDAY], '06:00', '08:00'), slotDuration: minutes(30), validFrom: day('2027-01-04'), validUntil: day('2027-01-04') });
    // 06:00 and 06:30 CET started before 07:00 CET; 07:00 has not (start > now is strict).
    expect((await slotsOfSchedule(catalog.sql, schedule.id)).map((s) => s.start_time.toISOString())).toEqual(['2027-01-04T06:30:00.000Z']);
  });

  it('accepts rules that touch, a rule ending at 24:00, and a validity that ends before the horizon', async () => {
    const doctor = await newDoctor();
    const schedule = await create(doctor.id, {
      rules: [...rules([DayOfWeek.TUESDAY], '09:00', '12:00'), ...rules([DayOfWeek.TUESDAY], '12:00', '13:00'), ...rules([DayOfWeek.TUESDAY], '23:00', '24:00')],
      slotDuration: minutes(60),
      validFrom: day('2027-01-05'),
      validUntil: day('2027-01-05'),
    });
    expect(schedule.rules[2].endLocalTime).toEqual(tod('24:00'));
    expect(schedule.materialisedThrough).toEqual(day('2027-01-05'));
    const slots = await slotsOfSchedule(catalog.sql, schedule.id);
    expect(slots.map((s) => s.start_time.toISOString())).toEqual([
      '2027-01-05T08:00:00.000Z',
      '2027-01-05T09:00:00.000Z',
      '2027-01-05T10:00:00.000Z',
      '2027-01-05T11:00:00.000Z',
      '2027-01-05T22:00:00.000Z',
    ]);
  });

  it('lets another doctor have the same hours', async () => {
    const [first, second] = [await newDoctor(), await newDoctor()];
    await create(first.id);
    await create(second.id);
    expect(await slotsOfDoctor(catalog.sql, second.id)).toHaveLength(11 * 19);
  });

  it('lets one doctor have the same hours in validities that do not meet', async () => {
    const doctor = await newDoctor();
    await create(doctor.id, { validFrom: day('2027-01-04'), validUntil: day('2027-01-10') });
    await create(doctor.id, { validFrom: day('2027-01-11') });
    expect(await slotsOfDoctor(catalog.sql, doctor.id)).toHaveLength(11 * 19);
  });

  it('refuses a malformed request, naming every bad field, and writes nothing', async () => {
    const schedule = scheduleOf({
      doctorId: 'not-a-uuid',
      clinicId: '',
      rules: [
        { dayOfWeek: DayOfWeek.DAY_OF_WEEK_UNSPECIFIED, startLocalTime: tod('09:00'), endLocalTime: tod('10:00') },
        { dayOfWeek: DayOfWeek.MONDAY, startLocalTime: tod('24:00'), endLocalTime: { hours: 24, minutes: 30, seconds: 0, nanos: 0 } },
        { dayOfWeek: DayOfWeek.TUESDAY, startLocalTime: { hours: 9, minutes: 0, seconds: 30, nanos: 0 }, endLocalTime: undefined },
        { dayOfWeek: DayOfWeek.WEDNESDAY, startLocalTime: tod('10:00'), endLocalTime: tod('09:00') },
      ],
      slotDuration: { seconds: 90, nanos: 0 },
      validFrom: { year: 2027, month: 2, day: 30 },
    });
    const err = await expectRefused(catalog, () => catalog.client.createSchedule({ schedule }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT' });
    expect(err.badRequest?.fieldViolations.map((v) => v.field).sort()).toEqual(
      [
        'schedule.doctor_id',
        'schedule.clinic_id',
        'schedule.rules[0].day_of_week',
        'schedule.rules[1].start_local_time',
        'schedule.rules[1].end_local_time',
        'schedule.rules[2].start_local_time',
        'schedule.rules[2].end_local_time',
        'schedule.rules[3].end_local_time',
        'schedule.slot_duration',
        'schedule.valid_from',
      ].sort(),
    );
  });

  it.each([
    ['no schedule', undefined, 'schedule'],
    ['no rules', { rules: [] }, 'schedule.rules'],
    ['a slot duration under 5 minutes', { slotDuration: minutes(4) }, 'schedule.slot_duration'],
    ['a slot duration over 24 hours', { slotDuration: minutes(1441) }, 'schedule.slot_duration'],
    ['no slot duration', { slotDuration: undefined }, 'schedule.slot_duration'],
    ['a rule shorter than one slot', { rules: rules([DayOfWeek.MONDAY], '09:00', '09:15') }, 'schedule.rules[0].end_local_time'],
    ['valid_until before valid_from', { validUntil: day('2027-01-03') }, 'schedule.valid_until'],
    ['no valid_from', { validFrom: undefined }, 'schedule.valid_from'],
  ])('refuses %s', async (_, fields, field) => {
    const doctor = await newDoctor();
    const schedule = fields && scheduleOf({ doctorId: doctor.id, clinicId: berlin.id, rules: OFFICE_HOURS, slotDuration: minutes(20), validFrom: day('2027-01-04'), ...fields });
    await expectRefused(catalog, () => catalog.client.createSchedule({ schedule }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field });
  });

  it('refuses an unknown doctor or clinic with NOT_FOUND, and a clinic the doctor does not practise at with DOCTOR_NOT_AT_CLINIC', async () => {
    const doctor = await newDoctor();
    const valid = { rules: OFFICE_HOURS, slotDuration: minutes(20), validFrom: day('2027-01-04') };
    const unknown = randomUUID();
    await expectRefused(catalog, () => catalog.client.createSchedule({ schedule: scheduleOf({ ...valid, doctorId: unknown, clinicId: berlin.id }) }), status.NOT_FOUND, {
      reason: 'DOCTOR_NOT_FOUND',
    });
    await expectRefused(catalog, () => catalog.client.createSchedule({ schedule: scheduleOf({ ...valid, doctorId: doctor.id, clinicId: unknown }) }), status.NOT_FOUND, {
      reason: 'CLINIC_NOT_FOUND',
    });
    const err = await expectRefused(
      catalog,
      () => catalog.client.createSchedule({ schedule: scheduleOf({ ...valid, doctorId: doctor.id, clinicId: potsdam.id }) }),
      status.FAILED_PRECONDITION,
      { reason: 'DOCTOR_NOT_AT_CLINIC' },
    );
    expect(err.errorInfo?.metadata).toEqual({ doctor_id: doctor.id, clinic_id: potsdam.id });
  });

  it('refuses rules of one day that overlap each other, naming both', async () => {
    const doctor = await newDoctor();
    const overlapping = [...rules([DayOfWeek.MONDAY], '09:00', '12:00'), ...rules([DayOfWeek.TUESDAY], '09:00', '12:00'), ...rules([DayOfWeek.MONDAY], '11:40', '13:00')];
    const err = await expectRefused(catalog, () => create(doctor.id, { rules: overlapping, validFrom: day('2027-01-04') }), status.ALREADY_EXISTS, {
      reason: 'SCHEDULE_OVERLAP',
    });
    expect(err.details).toContain('schedule.rules[2] (MONDAY 11:40-13:00) overlaps schedule.rules[0] (MONDAY 09:00-12:00)');
    expect(err.errorInfo?.metadata).toEqual({ doctor_id: doctor.id, field: 'schedule.rules[2]', conflicting_field: 'schedule.rules[0]' });
  });

  it("refuses rules that overlap another schedule of the doctor at another clinic, naming it, and writes nothing", async () => {
    const doctor = await newDoctor();
    await catalog.client.addDoctorClinic({ doctorId: doctor.id, clinicId: potsdam.id });
    const tuesdays = await createSchedule(catalog.client, doctor.id, berlin.id, { rules: rules([DayOfWeek.TUESDAY], '09:00', '17:00'), validFrom: day('2027-01-04') });
    const clash = [...rules([DayOfWeek.THURSDAY], '09:00', '17:00'), ...rules([DayOfWeek.TUESDAY], '16:00', '18:00')];
    const err = await expectRefused(
      catalog,
      () => createSchedule(catalog.client, doctor.id, potsdam.id, { rules: clash, validFrom: day('2027-01-11') }),
      status.ALREADY_EXISTS,
      { reason: 'SCHEDULE_OVERLAP' },
    );
    expect(err.details).toContain(`schedule.rules[1] (TUESDAY 16:00-18:00) overlaps schedule ${tuesdays.id} of the doctor at clinic ${berlin.id} (TUESDAY 09:00-17:00) on 2027-01-12`);
    expect(err.errorInfo?.metadata).toEqual({
      doctor_id: doctor.id,
      field: 'schedule.rules[1]',
      date: '2027-01-12',
      conflicting_schedule_id: tuesdays.id,
      conflicting_clinic_id: berlin.id,
    });
  });

  it('finds a clash beyond the horizon (two schedules that only meet next year)', async () => {
    const doctor = await newDoctor();
    await create(doctor.id, { rules: rules([DayOfWeek.FRIDAY], '09:00', '12:00'), validFrom: day('2027-06-01'), validUntil: day('2028-06-30') });
    await expectRefused(
      catalog,
      () => create(doctor.id, { rules: rules([DayOfWeek.FRIDAY], '11:00', '13:00'), validFrom: day('2028-06-01') }),
      status.ALREADY_EXISTS,
      { reason: 'SCHEDULE_OVERLAP' },
    );
  });
});

describe('GetSchedule and ListSchedules', () => {
  it('returns a schedule by id, as CreateSchedule did', async () => {
    const doctor = await newDoctor();
    const created = await create(doctor.id);
    expect((await catalog.client.getSchedule({ id: created.id })).schedule).toEqual(created);
  });

  it('refuses a malformed id and answers NOT_FOUND for an unknown one', async () => {
    await expectRefused(catalog, () => catalog.client.getSchedule({ id: 'x' }), status.INVALID_ARGUMENT, { field: 'id' });
    const id = randomUUID();
    const err = await expectRefused(catalog, () => catalog.client.getSchedule({ id }), status.NOT_FOUND, { reason: 'SCHEDULE_NOT_FOUND' });
    expect(err.errorInfo?.metadata).toEqual({ schedule_id: id });
  });

  it("lists a doctor's schedules in creation order, page by page", async () => {
    const doctor = await newDoctor();
    const created = [];
    for (const [i, d] of WEEKDAYS.entries()) created.push(await create(doctor.id, { rules: rules([d], '09:00', '10:00'), validFrom: day(`2027-02-0${i + 1}`) }));
    await create((await newDoctor()).id);
    const { items, pages } = await walkPages(async (pageToken) => {
      const page = await catalog.client.listSchedules({ doctorId: doctor.id, pageSize: 2, pageToken });
      return { items: page.schedules, nextPageToken: page.nextPageToken };
    });
    expect(pages).toBe(3);
    expect(items).toEqual(created);
  });

  it('returns an empty list for a doctor without schedules, and refuses a missing doctor_id or a foreign page token', async () => {
    expect(await catalog.client.listSchedules({ doctorId: randomUUID(), pageSize: 0, pageToken: '' })).toEqual({ schedules: [], nextPageToken: '' });
    await expectRefused(catalog, () => catalog.client.listSchedules({ doctorId: '', pageSize: 0, pageToken: '' }), status.INVALID_ARGUMENT, { field: 'doctor_id' });
    const doctor = await newDoctor();
    for (let i = 0; i < 2; i++) await create(doctor.id, { rules: rules([WEEKDAYS[i]], '09:00', '10:00'), validFrom: day('2027-03-01') });
    const { nextPageToken } = await catalog.client.listSchedules({ doctorId: doctor.id, pageSize: 1, pageToken: '' });
    await expectRefused(catalog, () => catalog.client.listSchedules({ doctorId: randomUUID(), pageSize: 1, pageToken: nextPageToken }), status.INVALID_ARGUMENT, {
      field: 'page_token',
    });
  });
});

describe('DeleteSchedule', () => {
  it('deletes the schedule and its future open slots; claimed slots stay, unlinked, and are reported', async () => {
    const doctor = await newDoctor();
    const schedule = await create(doctor.id);
    const slots = await slotsOfSchedule(catalog.sql, schedule.id);
    const claimed = [slots[3], slots[100]];
    for (const slot of claimed) await catalog.client.claimSlot({ slotId: slot.id, claimId: randomUUID() });
    const before = await countRows(catalog.sql);

    const { orphanedClaimedSlots } = await catalog.client.deleteSchedule({ id: schedule.id });

    expect(orphanedClaimedSlots.map((s) => s.id)).toEqual(claimed.map((s) => s.id));
    expect(orphanedClaimedSlots.every((s) => s.status === SlotStatus.SLOT_STATUS_BOOKED)).toBe(true);
    const left = await slotsOfDoctor(catalog.sql, doctor.id);
    expect(left.map((s) => [s.id, s.status, s.schedule_id])).toEqual(claimed.map((s) => [s.id, 'booked', null]));
    expect(await countRows(catalog.sql)).toEqual({
      ...before,
      slots: before.slots - slots.length + 2,
      schedules: before.schedules - 1,
      scheduleRules: before.scheduleRules - 10,
    });
    await expectRefused(catalog, () => catalog.client.getSchedule({ id: schedule.id }), status.NOT_FOUND, { reason: 'SCHEDULE_NOT_FOUND' });
    await expectRefused(catalog, () => catalog.client.deleteSchedule({ id: schedule.id }), status.NOT_FOUND, { reason: 'SCHEDULE_NOT_FOUND' });
  });

  it('leaves past slots alone', async () => {
    const doctor = await newDoctor();
    const schedule = await create(doctor.id);
    // A slot that started before now (made by an earlier run), open and booked.
    const past = await catalog.sql.query<{ id: string }>(
      `INSERT INTO slot (doctor_id, clinic_id, schedule_id, start_time, end_time) VALUES ($1, $2, $3, '2027-01-01T08:00Z', '2027-01-01T08:20Z') RETURNING id::text`,
      [doctor.id, berlin.id, schedule.id],
    );
    await catalog.client.deleteSchedule({ id: schedule.id });
    expect((await slotsOfDoctor(catalog.sql, doctor.id)).map((s) => [s.id, s.schedule_id])).toEqual([[past.rows[0].id, null]]);
  });

  it('refuses a malformed id', async () => {
    await expectRefused(catalog, () => catalog.client.deleteSchedule({ id: '' }), status.INVALID_ARGUMENT, { field: 'id' });
  });
});
