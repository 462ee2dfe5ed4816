// UpdateSchedule and AddScheduleException: future open slots follow the new
// rules, claimed slots are never touched and are reported when they no
// longer fit. Clock fixed on Monday 2027-01-04 07:00 in Berlin, 14-day horizon.

import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScheduleExceptionKind, SlotStatus, type AddScheduleExceptionRequest, type Clinic } from '@carebook/proto/catalog';
import { countRows, createClinic, createDoctor, expectRefused, startCatalogUnderTest, type CatalogUnderTest } from './harness';
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
  type SlotRow,
} from './schedule-fixtures';

const NOW = new Date('2027-01-04T06:00:00Z');
const { CLOSED, EXTRA } = { CLOSED: ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_CLOSED, EXTRA: ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_EXTRA };
let catalog: CatalogUnderTest;
let berlin: Clinic;

beforeAll(async () => {
  catalog = await startCatalogUnderTest({ now: () => NOW, slotHorizonDays: 14 });
  berlin = await createClinic(catalog.client, { timeZone: 'Europe/Berlin' });
});

afterAll(async () => {
  await catalog?.close();
});

/** A doctor with the office-hours schedule from 2027-01-04 (209 slots over the horizon). */
async function officeHours() {
  const doctor = await createDoctor(catalog.client, berlin.id);
  const schedule = await createSchedule(catalog.client, doctor.id, berlin.id, { validFrom: day('2027-01-04') });
  return { doctor, schedule, slots: await slotsOfSchedule(catalog.sql, schedule.id) };
}

const at = (slots: SlotRow[], iso: string) => slots.find((s) => s.start_time.toISOString() === new Date(iso).toISOString())!;
const claim = (slot: SlotRow) => catalog.client.claimSlot({ slotId: slot.id, claimId: randomUUID() });
const exception = (fields: Partial<AddScheduleExceptionRequest>): AddScheduleExceptionRequest => ({
  scheduleId: '',
  date: undefined,
  kind: ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_UNSPECIFIED,
  startLocalTime: undefined,
  endLocalTime: undefined,
  ...fields,
});

describe('UpdateSchedule', () => {
  it('removes the open slots the new rules drop, keeps a claimed one and reports it', async () => {
    const { schedule, slots } = await officeHours();
    const fridayAfternoon = at(slots, '2027-01-08T13:00Z'); // Friday 14:00 CET
    const mondayMorning = at(slots, '2027-01-11T08:00Z'); // still fits
    await claim(fridayAfternoon);
    await claim(mondayMorning);
    const noFridayAfternoons = [...rules(WEEKDAYS, '09:00', '12:30'), ...rules(WEEKDAYS.slice(0, 4), '14:00', '17:00')];

    const response = await catalog.client.updateSchedule({ schedule: { ...schedule, rules: noFridayAfternoons }, updateMask: ['rules'] });

    expect(response.orphanedClaimedSlots.map((s) => [s.id, s.status])).toEqual([[fridayAfternoon.id, SlotStatus.SLOT_STATUS_BOOKED]]);
    expect(response.schedule!.rules).toHaveLength(9);
    expect(response.schedule!.updateTime!.getTime()).toBeGreaterThan(schedule.updateTime!.getTime());
    const after = await slotsOfSchedule(catalog.sql, schedule.id);
    // Two Friday afternoons of 9 slots went, but for the claimed one.
    expect(after).toHaveLength(209 - 17);
    expect(at(after, '2027-01-08T13:00Z')).toMatchObject({ id: fridayAfternoon.id, status: 'booked' });
    expect(at(after, '2027-01-11T08:00Z')).toMatchObject({ id: mondayMorning.id, status: 'booked' });
    // Unchanged slots are the same rows, not re-created.
    expect(at(after, '2027-01-05T08:00Z').id).toBe(at(slots, '2027-01-05T08:00Z').id);
  });

  it('re-cuts every open slot for a new duration, never over a claimed slot, and reports claimed ones that no longer fit', async () => {
    const { doctor, schedule, slots } = await officeHours();
    const claimed = at(slots, '2027-01-05T08:20Z'); // Tuesday 09:20-09:40
    await claim(claimed);

    const response = await catalog.client.updateSchedule({ schedule: { ...schedule, slotDuration: minutes(30) }, updateMask: ['slot_duration'] });

    expect(response.schedule!.slotDuration).toEqual(minutes(30));
    expect(response.orphanedClaimedSlots.map((s) => s.id)).toEqual([claimed.id]);
    const after = await slotsOfDoctor(catalog.sql, doctor.id);
    expectNoOverlap(after);
    // 7 + 6 thirty-minute slots a day; on Tuesday the 09:00 and 09:30 slots would overlap the claimed 09:20-09:40.
    expect(after).toHaveLength(11 * 13 - 2 + 1);
    const tuesday = after.filter((s) => s.start_time.toISOString().startsWith('2027-01-05T0')).map((s) => [s.start_time.toISOString().slice(11, 16), s.status]);
    expect(tuesday.slice(0, 3)).toEqual([
      ['08:20', 'booked'],
      ['09:00', 'open'],
      ['09:30', 'open'],
    ]);
  });

  it('takes update_mask paths in lowerCamelCase too, as typed in grpcurl JSON', async () => {
    const { schedule } = await officeHours();
    const response = await catalog.client.updateSchedule({
      schedule: { ...schedule, slotDuration: minutes(30), validUntil: day('2027-01-08') },
      updateMask: ['slotDuration', 'validUntil', 'slot_duration'],
    });
    expect(response.schedule).toMatchObject({ slotDuration: minutes(30), validUntil: day('2027-01-08'), validFrom: schedule.validFrom });
    expect(await slotsOfSchedule(catalog.sql, schedule.id)).toHaveLength(5 * 13);
  });

  it('moves valid_until: slots past it go; moving it back brings them again', async () => {
    const { schedule } = await officeHours();
    let response = await catalog.client.updateSchedule({ schedule: { ...schedule, validUntil: day('2027-01-08') }, updateMask: ['valid_until'] });
    expect(response.schedule!.materialisedThrough).toEqual(day('2027-01-08'));
    expect(await slotsOfSchedule(catalog.sql, schedule.id)).toHaveLength(5 * 19);
    response = await catalog.client.updateSchedule({ schedule: { ...schedule, validUntil: undefined }, updateMask: ['valid_until'] });
    expect(response.schedule!.validUntil).toBeUndefined();
    expect(response.schedule!.materialisedThrough).toEqual(day('2027-01-18'));
    expect(await slotsOfSchedule(catalog.sql, schedule.id)).toHaveLength(11 * 19);
  });

  it('replaces every updatable field when the mask is empty', async () => {
    const { schedule } = await officeHours();
    const { schedule: updated } = await catalog.client.updateSchedule({
      schedule: scheduleOf({ id: schedule.id, rules: rules([DayOfWeek.SATURDAY], '10:00', '11:00'), slotDuration: minutes(60), validFrom: day('2027-01-09') }),
      updateMask: [],
    });
    expect(updated).toMatchObject({ doctorId: schedule.doctorId, clinicId: schedule.clinicId, slotDuration: minutes(60), validFrom: day('2027-01-09') });
    expect((await slotsOfSchedule(catalog.sql, schedule.id)).map((s) => s.start_time.toISOString())).toEqual(['2027-01-09T09:00:00.000Z', '2027-01-16T09:00:00.000Z']);
  });

  it('refuses bad requests, naming the field, and writes nothing', async () => {
    const { schedule } = await officeHours();
    const update = (fields: object, updateMask: string[]) => () => catalog.client.updateSchedule({ schedule: { ...schedule, ...fields }, updateMask });
    await expectRefused(catalog, update({}, ['doctor_id']), status.INVALID_ARGUMENT, { field: 'update_mask' });
    await expectRefused(catalog, update({ id: 'nope' }, ['rules']), status.INVALID_ARGUMENT, { field: 'schedule.id' });
    await expectRefused(catalog, update({ rules: [] }, ['rules']), status.INVALID_ARGUMENT, { field: 'schedule.rules' });
    // Checked against the stored duration: a 15-minute rule cannot hold a 20-minute slot.
    await expectRefused(catalog, update({ rules: rules([DayOfWeek.MONDAY], '09:00', '09:15') }, ['rules']), status.INVALID_ARGUMENT, {
      field: 'schedule.rules[0].end_local_time',
    });
    await expectRefused(catalog, update({ validFrom: day('2027-02-01'), validUntil: day('2027-01-31') }, ['valid_from', 'valid_until']), status.INVALID_ARGUMENT, {
      field: 'schedule.valid_until',
    });
    await expectRefused(catalog, update({ rules: [...rules([DayOfWeek.MONDAY], '09:00', '10:00'), ...rules([DayOfWeek.MONDAY], '09:30', '11:00')] }, ['rules']), status.ALREADY_EXISTS, {
      reason: 'SCHEDULE_OVERLAP',
    });
    await expectRefused(catalog, update({ id: randomUUID() }, ['rules']), status.NOT_FOUND, { reason: 'SCHEDULE_NOT_FOUND' });
  });

  it('refuses new rules that overlap another schedule of the doctor', async () => {
    const { doctor, schedule } = await officeHours();
    await createSchedule(catalog.client, doctor.id, berlin.id, { rules: rules([DayOfWeek.SATURDAY], '09:00', '12:00'), validFrom: day('2027-01-04') });
    const err = await expectRefused(
      catalog,
      () => catalog.client.updateSchedule({ schedule: { ...schedule, rules: [...OFFICE_HOURS, ...rules([DayOfWeek.SATURDAY], '11:00', '13:00')] }, updateMask: ['rules'] }),
      status.ALREADY_EXISTS,
      { reason: 'SCHEDULE_OVERLAP' },
    );
    expect(err.errorInfo?.metadata.field).toBe('schedule.rules[10]');
  });
});

describe('AddScheduleException', () => {
  it('CLOSED removes the open slots of the day, keeps a claimed one and reports it', async () => {
    const { schedule, slots } = await officeHours();
    const claimed = at(slots, '2027-01-06T10:00Z'); // Wednesday 11:00
    await claim(claimed);
    const before = await countRows(catalog.sql);

    const response = await catalog.client.addScheduleException(exception({ scheduleId: schedule.id, date: day('2027-01-06'), kind: CLOSED }));

    expect(response.orphanedClaimedSlots.map((s) => s.id)).toEqual([claimed.id]);
    expect(response.schedule!.exceptions).toEqual([
      expect.objectContaining({ date: day('2027-01-06'), kind: CLOSED, startLocalTime: undefined, endLocalTime: undefined }),
    ]);
    const wednesday = (await slotsOfSchedule(catalog.sql, schedule.id)).filter((s) => s.start_time.toISOString().startsWith('2027-01-06'));
    expect(wednesday.map((s) => s.id)).toEqual([claimed.id]);
    expect(await countRows(catalog.sql)).toEqual({ ...before, slots: before.slots - 18, scheduleExceptions: before.scheduleExceptions + 1 });

    // The same exception again changes nothing, and still reports the orphan.
    const again = await catalog.client.addScheduleException(exception({ scheduleId: schedule.id, date: day('2027-01-06'), kind: CLOSED }));
    expect(again.schedule!.exceptions).toEqual(response.schedule!.exceptions);
    expect(again.orphanedClaimedSlots.map((s) => s.id)).toEqual([claimed.id]);
    expect((await countRows(catalog.sql)).slots).toBe(before.slots - 18);
  });

  it('EXTRA adds hours on the odd Saturday; with CLOSED it changes the hours of a day', async () => {
    const { schedule } = await officeHours();
    await catalog.client.addScheduleException(exception({ scheduleId: schedule.id, date: day('2027-01-09'), kind: EXTRA, startLocalTime: tod('10:00'), endLocalTime: tod('12:00') }));
    await catalog.client.addScheduleException(exception({ scheduleId: schedule.id, date: day('2027-01-12'), kind: CLOSED }));
    const { schedule: updated } = await catalog.client.addScheduleException(
      exception({ scheduleId: schedule.id, date: day('2027-01-12'), kind: EXTRA, startLocalTime: tod('07:00'), endLocalTime: tod('08:00') }),
    );
    expect(updated!.exceptions.map((e) => [e.date!.day, e.kind])).toEqual([
      [9, EXTRA],
      [12, CLOSED],
      [12, EXTRA],
    ]);
    const slots = await slotsOfSchedule(catalog.sql, schedule.id);
    const on = (date: string) => slots.filter((s) => s.start_time.toISOString().startsWith(date)).map((s) => s.start_time.toISOString().slice(11, 16));
    expect(on('2027-01-09')).toEqual(['09:00', '09:20', '09:40', '10:00', '10:20', '10:40']);
    expect(on('2027-01-12')).toEqual(['06:00', '06:20', '06:40']);
    expect(slots).toHaveLength(209 + 6 - 19 + 3);
  });

  it('refuses extra hours that overlap the weekly hours of the day, or other extra hours', async () => {
    const { schedule } = await officeHours();
    const err = await expectRefused(
      catalog,
      () => catalog.client.addScheduleException(exception({ scheduleId: schedule.id, date: day('2027-01-05'), kind: EXTRA, startLocalTime: tod('12:00'), endLocalTime: tod('14:00') })),
      status.ALREADY_EXISTS,
      { reason: 'SCHEDULE_OVERLAP' },
    );
    expect(err.details).toContain('extra hours 12:00-14:00 on 2027-01-05 overlap the weekly rule TUESDAY 09:00-12:30 of the schedule');
    await catalog.client.addScheduleException(exception({ scheduleId: schedule.id, date: day('2027-01-09'), kind: EXTRA, startLocalTime: tod('10:00'), endLocalTime: tod('12:00') }));
    await expectRefused(
      catalog,
      () => catalog.client.addScheduleException(exception({ scheduleId: schedule.id, date: day('2027-01-09'), kind: EXTRA, startLocalTime: tod('11:00'), endLocalTime: tod('13:00') })),
      status.ALREADY_EXISTS,
      { reason: 'SCHEDULE_OVERLAP' },
    );
  });

  it('refuses extra hours that overlap another schedule of the doctor', async () => {
    const { doctor, schedule } = await officeHours();
    const saturdays = await createSchedule(catalog.client, doctor.id, berlin.id, { rules: rules([DayOfWeek.SATURDAY], '09:00', '12:00'), validFrom: day('2027-01-04') });
    const err = await expectRefused(
      catalog,
      () => catalog.client.addScheduleException(exception({ scheduleId: schedule.id, date: day('2027-01-09'), kind: EXTRA, startLocalTime: tod('11:00'), endLocalTime: tod('13:00') })),
      status.ALREADY_EXISTS,
      { reason: 'SCHEDULE_OVERLAP' },
    );
    expect(err.errorInfo?.metadata).toMatchObject({ field: 'date', date: '2027-01-09', conflicting_schedule_id: saturdays.id });
  });

  it('refuses bad requests, naming the field, and writes nothing', async () => {
    const { schedule } = await officeHours();
    const add = (fields: Partial<AddScheduleExceptionRequest>) => () =>
      catalog.client.addScheduleException(exception({ scheduleId: schedule.id, date: day('2027-01-09'), kind: EXTRA, startLocalTime: tod('10:00'), endLocalTime: tod('12:00'), ...fields }));
    await expectRefused(catalog, add({ scheduleId: 'x' }), status.INVALID_ARGUMENT, { field: 'schedule_id' });
    await expectRefused(catalog, add({ date: undefined }), status.INVALID_ARGUMENT, { field: 'date' });
    await expectRefused(catalog, add({ kind: ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_UNSPECIFIED }), status.INVALID_ARGUMENT, { field: 'kind' });
    await expectRefused(catalog, add({ kind: CLOSED }), status.INVALID_ARGUMENT, { field: 'start_local_time' });
    await expectRefused(catalog, add({ startLocalTime: undefined }), status.INVALID_ARGUMENT, { field: 'start_local_time' });
    await expectRefused(catalog, add({ endLocalTime: tod('09:00') }), status.INVALID_ARGUMENT, { field: 'end_local_time' });
    await expectRefused(catalog, add({ endLocalTime: tod('10:10') }), status.INVALID_ARGUMENT, { field: 'end_local_time' });
    await expectRefused(catalog, add({ scheduleId: randomUUID() }), status.NOT_FOUND, { reason: 'SCHEDULE_NOT_FOUND' });
    const err = await expectRefused(catalog, add({ date: day('2027-01-03') }), status.FAILED_PRECONDITION, { reason: 'DATE_OUTSIDE_SCHEDULE' });
    expect(err.errorInfo?.metadata).toEqual({ schedule_id: schedule.id, date: '2027-01-03' });
  });
});
