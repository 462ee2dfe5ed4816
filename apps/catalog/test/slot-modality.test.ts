// Modality where slots are made: CreateSlots, schedule rules and extra hours,
// and what Doctor.modalities derives from them. A doctor is in one visit at a
// time, so slots and hours of one modality are refused over the other's.
// Clock fixed on Monday 2027-01-04 07:00 in Berlin, 14-day horizon.

import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Modality, ScheduleExceptionKind, type Clinic, type Doctor, type ScheduleRule } from '@carebook/proto/catalog';
import { createClinic, createDoctor, expectRefused, startCatalogUnderTest, type CatalogUnderTest } from './harness';
import { DayOfWeek, createSchedule, day, rules, tod, wallClock } from './schedule-fixtures';

const NOW = new Date('2027-01-04T06:00:00Z');
const { IN_PERSON, VIDEO, UNSPECIFIED } = {
  IN_PERSON: Modality.MODALITY_IN_PERSON,
  VIDEO: Modality.MODALITY_VIDEO,
  UNSPECIFIED: Modality.MODALITY_UNSPECIFIED,
};
let catalog: CatalogUnderTest;
let berlin: Clinic;

beforeAll(async () => {
  catalog = await startCatalogUnderTest({ now: () => NOW, slotHorizonDays: 14 });
  berlin = await createClinic(catalog.client, { timeZone: 'Europe/Berlin' });
});

afterAll(async () => {
  await catalog?.close();
});

const newDoctor = () => createDoctor(catalog.client, berlin.id);
const interval = (iso: string, minutes = 30) => ({ startTime: new Date(iso), endTime: new Date(Date.parse(iso) + minutes * 60_000) });
const videoRules = (days: DayOfWeek[], start: string, end: string): ScheduleRule[] => rules(days, start, end).map((r) => ({ ...r, modality: VIDEO }));

interface ModalityRow {
  id: string;
  start_time: Date;
  modality: 'in_person' | 'video';
  status: 'open' | 'booked';
}

/** Every slot of the doctor with its modality, by start time. */
async function modalitiesOfDoctor(doctorId: string): Promise<ModalityRow[]> {
  const { rows } = await catalog.sql.query<ModalityRow>(
    `SELECT id::text, start_time, modality::text AS modality, status::text AS status FROM slot WHERE doctor_id = $1 ORDER BY start_time`,
    [doctorId],
  );
  return rows;
}

const offered = async (doctorId: string) => (await catalog.client.getDoctor({ id: doctorId })).doctor!.modalities;

describe('CreateSlots', () => {
  it('makes video slots when asked, and in-person ones when the modality is unset', async () => {
    const doctor = await newDoctor();
    const video = await catalog.client.createSlots({ doctorId: doctor.id, slots: [interval('2027-01-05T08:00Z')], modality: VIDEO });
    const unset = await catalog.client.createSlots({ doctorId: doctor.id, slots: [interval('2027-01-05T09:00Z')] });
    const unspecified = await catalog.client.createSlots({ doctorId: doctor.id, slots: [interval('2027-01-05T10:00Z')], modality: UNSPECIFIED });
    expect([video, unset, unspecified].map((r) => r.slots.map((s) => s.modality))).toEqual([[VIDEO], [IN_PERSON], [IN_PERSON]]);
    expect((await modalitiesOfDoctor(doctor.id)).map((s) => s.modality)).toEqual(['video', 'in_person', 'in_person']);
    expect((await catalog.client.getSlot({ id: video.slots[0].id })).slot).toMatchObject({ modality: VIDEO, clinicId: berlin.id });
  });

  it('refuses an unknown modality, naming the field, and writes nothing', async () => {
    const doctor = await newDoctor();
    for (const modality of [3, -1, 2 ** 31 - 1] as Modality[]) {
      const err = await expectRefused(
        catalog,
        () => catalog.client.createSlots({ doctorId: doctor.id, slots: [interval('2027-01-05T08:00Z')], modality }),
        status.INVALID_ARGUMENT,
        { reason: 'INVALID_ARGUMENT', field: 'modality' },
      );
      expect(err.badRequest!.fieldViolations.map((v) => [v.field, v.description])).toEqual([
        ['modality', `must be MODALITY_IN_PERSON or MODALITY_VIDEO, got ${modality}`],
      ]);
    }
  });

  it('refuses a slot of one modality over a slot of the other (SLOT_OVERLAP), and lets them touch', async () => {
    const doctor = await newDoctor();
    const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: [interval('2027-01-05T09:00Z')] });
    const err = await expectRefused(
      catalog,
      () => catalog.client.createSlots({ doctorId: doctor.id, slots: [interval('2027-01-05T09:15Z')], modality: VIDEO }),
      status.ALREADY_EXISTS,
      { reason: 'SLOT_OVERLAP' },
    );
    expect(err.errorInfo!.metadata).toMatchObject({ conflicting_slot_id: slots[0].id });
    await catalog.client.createSlots({ doctorId: doctor.id, slots: [interval('2027-01-05T09:30Z')], modality: VIDEO });
    await expectRefused(catalog, () => catalog.client.createSlots({ doctorId: doctor.id, slots: [interval('2027-01-05T09:45Z', 15)] }), status.ALREADY_EXISTS, {
      reason: 'SLOT_OVERLAP',
    });
    // The database refuses it too, whoever writes.
    await expect(
      catalog.sql.query(`INSERT INTO slot (doctor_id, clinic_id, start_time, end_time, modality) VALUES ($1, $2, $3, $4, 'video')`, [
        doctor.id,
        berlin.id,
        '2027-01-05T09:10Z',
        '2027-01-05T09:20Z',
      ]),
    ).rejects.toMatchObject({ code: '23P01', constraint: 'slot_doctor_no_overlap' });
  });
});

describe('Schedules of both modalities', () => {
  it("materialise each rule's slots in its modality; rules read back with theirs, unset as IN_PERSON", async () => {
    const doctor = await newDoctor();
    const schedule = await createSchedule(catalog.client, doctor.id, berlin.id, {
      validFrom: day('2027-01-04'),
      rules: [...rules([DayOfWeek.MONDAY], '09:00', '12:00'), ...videoRules([DayOfWeek.MONDAY, DayOfWeek.TUESDAY], '13:00', '15:00')],
    });
    expect(schedule.rules.map((r) => [r.dayOfWeek, r.startLocalTime!.hours, r.modality])).toEqual([
      [DayOfWeek.MONDAY, 9, IN_PERSON],
      [DayOfWeek.MONDAY, 13, VIDEO],
      [DayOfWeek.TUESDAY, 13, VIDEO],
    ]);
    expect((await catalog.client.getSchedule({ id: schedule.id })).schedule!.rules).toEqual(schedule.rules);

    const slots = await modalitiesOfDoctor(doctor.id);
    // Three Mondays (4, 11, 18 January) and two Tuesdays in the horizon; 9 morning and 6 afternoon slots a day.
    expect(slots.filter((s) => s.modality === 'in_person')).toHaveLength(3 * 9);
    expect(slots.filter((s) => s.modality === 'video')).toHaveLength(5 * 6);
    for (const slot of slots) {
      const hour = Number(wallClock(slot.start_time, 'Europe/Berlin').slice(11, 13));
      expect(slot.modality, wallClock(slot.start_time, 'Europe/Berlin')).toBe(hour < 12 ? 'in_person' : 'video');
    }
  });

  it('refuse hours of one modality over hours of the other (SCHEDULE_OVERLAP), writing nothing', async () => {
    const doctor = await newDoctor();
    const within = () =>
      createSchedule(catalog.client, doctor.id, berlin.id, {
        validFrom: day('2027-01-04'),
        rules: [...rules([DayOfWeek.MONDAY], '09:00', '12:00'), ...videoRules([DayOfWeek.MONDAY], '11:00', '13:00')],
      });
    await expectRefused(catalog, within, status.ALREADY_EXISTS, { reason: 'SCHEDULE_OVERLAP' });

    const inPerson = await createSchedule(catalog.client, doctor.id, berlin.id, { validFrom: day('2027-01-04'), rules: rules([DayOfWeek.MONDAY], '09:00', '12:00') });
    const another = () =>
      createSchedule(catalog.client, doctor.id, berlin.id, { validFrom: day('2027-01-04'), rules: videoRules([DayOfWeek.MONDAY], '10:00', '11:00') });
    const err = await expectRefused(catalog, another, status.ALREADY_EXISTS, { reason: 'SCHEDULE_OVERLAP' });
    expect(err.errorInfo!.metadata).toMatchObject({ conflicting_schedule_id: inPerson.id });

    const extra = () =>
      catalog.client.addScheduleException({
        scheduleId: inPerson.id,
        date: day('2027-01-11'),
        kind: ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_EXTRA,
        startLocalTime: tod('11:40'),
        endLocalTime: tod('13:00'),
        modality: VIDEO,
      });
    await expectRefused(catalog, extra, status.ALREADY_EXISTS, { reason: 'SCHEDULE_OVERLAP' });
  });

  it("meet slots of the other modality as before: CreateSlots over a schedule's slot is SLOT_OVERLAP, a rule over a manual slot skips it", async () => {
    const doctor = await newDoctor();
    await createSchedule(catalog.client, doctor.id, berlin.id, { validFrom: day('2027-01-04'), rules: rules([DayOfWeek.MONDAY], '09:00', '10:00') });
    await expectRefused(
      catalog,
      () => catalog.client.createSlots({ doctorId: doctor.id, slots: [interval('2027-01-11T08:00Z', 20)], modality: VIDEO }),
      status.ALREADY_EXISTS,
      { reason: 'SLOT_OVERLAP' },
    );

    const manual = (await catalog.client.createSlots({ doctorId: doctor.id, slots: [interval('2027-01-12T12:00Z', 20)] })).slots[0]; // Tuesday 13:00
    await createSchedule(catalog.client, doctor.id, berlin.id, { validFrom: day('2027-01-04'), rules: videoRules([DayOfWeek.TUESDAY], '13:00', '14:00') });
    const tuesdays = (await modalitiesOfDoctor(doctor.id)).filter((s) => wallClock(s.start_time, 'Europe/Berlin').slice(11) >= '13:00');
    expect(tuesdays.map((s) => [s.start_time.toISOString(), s.modality])).toEqual([
      ['2027-01-05T12:00:00.000Z', 'video'],
      ['2027-01-05T12:20:00.000Z', 'video'],
      ['2027-01-05T12:40:00.000Z', 'video'],
      ['2027-01-12T12:00:00.000Z', 'in_person'],
      ['2027-01-12T12:20:00.000Z', 'video'],
      ['2027-01-12T12:40:00.000Z', 'video'],
    ]);
    expect(tuesdays[3].id).toBe(manual.id);
  });

  it("changing a rule's modality replaces its open slots, keeps a claimed one and reports it", async () => {
    const doctor = await newDoctor();
    const schedule = await createSchedule(catalog.client, doctor.id, berlin.id, { validFrom: day('2027-01-04'), rules: rules([DayOfWeek.MONDAY], '09:00', '10:00') });
    const before = await modalitiesOfDoctor(doctor.id);
    const claimed = before.find((s) => s.start_time.toISOString() === '2027-01-11T08:20:00.000Z')!;
    await catalog.client.claimSlot({ slotId: claimed.id, claimId: randomUUID() });

    const response = await catalog.client.updateSchedule({
      schedule: { ...schedule, rules: videoRules([DayOfWeek.MONDAY], '09:00', '10:00') },
      updateMask: ['rules'],
    });

    expect(response.orphanedClaimedSlots.map((s) => [s.id, s.modality])).toEqual([[claimed.id, IN_PERSON]]);
    expect(response.schedule!.rules.map((r) => r.modality)).toEqual([VIDEO]);
    const after = await modalitiesOfDoctor(doctor.id);
    expect(after).toHaveLength(before.length);
    expect(after.filter((s) => s.modality === 'in_person').map((s) => [s.id, s.status])).toEqual([[claimed.id, 'booked']]);
    expect(after.filter((s) => s.modality === 'video').every((s) => s.status === 'open' && !before.some((b) => b.id === s.id))).toBe(true);
  });

  it('take a modality for extra hours, none for a closed day, and refuse unknown ones by field', async () => {
    const doctor = await newDoctor();
    const schedule = await createSchedule(catalog.client, doctor.id, berlin.id, { validFrom: day('2027-01-04'), rules: rules([DayOfWeek.MONDAY], '09:00', '10:00') });
    const exception = { scheduleId: schedule.id, date: day('2027-01-09'), startLocalTime: tod('10:00'), endLocalTime: tod('11:00') };
    const { schedule: withExtra } = await catalog.client.addScheduleException({ ...exception, kind: ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_EXTRA, modality: VIDEO });
    expect(withExtra!.exceptions.map((e) => e.modality)).toEqual([VIDEO]);
    const saturday = (await modalitiesOfDoctor(doctor.id)).filter((s) => s.start_time.toISOString().startsWith('2027-01-09'));
    expect(saturday.map((s) => s.modality)).toEqual(['video', 'video', 'video']);

    const closed = { scheduleId: schedule.id, date: day('2027-01-11'), kind: ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_CLOSED };
    await expectRefused(catalog, () => catalog.client.addScheduleException({ ...closed, modality: IN_PERSON }), status.INVALID_ARGUMENT, { field: 'modality' });
    const { schedule: withClosed } = await catalog.client.addScheduleException(closed);
    expect(withClosed!.exceptions.map((e) => [e.kind, e.modality])).toEqual([
      [ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_EXTRA, VIDEO],
      [ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_CLOSED, UNSPECIFIED],
    ]);

    const extra = { ...exception, date: day('2027-01-16'), kind: ScheduleExceptionKind.SCHEDULE_EXCEPTION_KIND_EXTRA, modality: 7 as Modality };
    await expectRefused(catalog, () => catalog.client.addScheduleException(extra), status.INVALID_ARGUMENT, { field: 'modality' });
    const badRule = () =>
      createSchedule(catalog.client, doctor.id, berlin.id, { validFrom: day('2027-01-04'), rules: [{ ...rules([DayOfWeek.FRIDAY], '09:00', '10:00')[0], modality: 9 as Modality }] });
    await expectRefused(catalog, badRule, status.INVALID_ARGUMENT, { field: 'schedule.rules[0].modality' });
  });

  it('are kept by the database: extra hours have a modality, a closed day has none', async () => {
    const doctor = await newDoctor();
    const schedule = await createSchedule(catalog.client, doctor.id, berlin.id, { validFrom: day('2027-01-04'), rules: rules([DayOfWeek.MONDAY], '09:00', '10:00') });
    const insert = (kind: string, hours: [string, string] | [null, null], modality: string | null) =>
      catalog.sql.query(`INSERT INTO schedule_exception (schedule_id, date, kind, start_local_time, end_local_time, modality) VALUES ($1, '2027-01-09', $2, $3, $4, $5)`, [
        schedule.id,
        kind,
        ...hours,
        modality,
      ]);
    await expect(insert('extra', ['10:00', '11:00'], null)).rejects.toMatchObject({ code: '23514', constraint: 'schedule_exception_modality_check' });
    await expect(insert('closed', [null, null], 'video')).rejects.toMatchObject({ code: '23514', constraint: 'schedule_exception_modality_check' });
  });
});

describe('Doctor.modalities', () => {
  it("lists what the doctor offers: its open slots that have not started and its schedules' hours that have not ended", async () => {
    const doctor = await newDoctor();
    expect(doctor.modalities).toEqual([]);
    const { slots } = await catalog.client.createSlots({ doctorId: doctor.id, slots: [interval('2027-01-06T08:00Z')] });
    expect(await offered(doctor.id)).toEqual([IN_PERSON]);

    const video = await createSchedule(catalog.client, doctor.id, berlin.id, { validFrom: day('2027-01-04'), rules: videoRules([DayOfWeek.FRIDAY], '09:00', '10:00') });
    expect(await offered(doctor.id)).toEqual([IN_PERSON, VIDEO]);
    const listed = await catalog.client.listDoctors({ clinicId: berlin.id, specialty: '', pageSize: 500, pageToken: '' });
    expect(listed.doctors.find((d) => d.id === doctor.id)!.modalities).toEqual([IN_PERSON, VIDEO]);
    expect((await catalog.client.addDoctorClinic({ doctorId: doctor.id, clinicId: berlin.id })).doctor!.modalities).toEqual([IN_PERSON, VIDEO]);

    await catalog.client.deleteSchedule({ id: video.id });
    expect(await offered(doctor.id)).toEqual([IN_PERSON]);
    // A booked slot is no longer offered.
    await catalog.client.claimSlot({ slotId: slots[0].id, claimId: randomUUID() });
    expect(await offered(doctor.id)).toEqual([]);
  });

  it('counts a schedule whose slots lie beyond the horizon, but not one that has ended', async () => {
    const later: Doctor = await newDoctor();
    await createSchedule(catalog.client, later.id, berlin.id, { validFrom: day('2027-06-07'), rules: videoRules([DayOfWeek.MONDAY], '09:00', '10:00') });
    expect(await modalitiesOfDoctor(later.id)).toEqual([]);
    expect(await offered(later.id)).toEqual([VIDEO]);

    const ended: Doctor = await newDoctor();
    await createSchedule(catalog.client, ended.id, berlin.id, {
      validFrom: day('2026-01-05'),
      validUntil: day('2026-06-30'),
      rules: videoRules([DayOfWeek.MONDAY], '09:00', '10:00'),
    });
    expect(await offered(ended.id)).toEqual([]);
  });
});
