import type pg from 'pg';
import { DayOfWeek, Schedule, type CatalogClient, type DateMessage, type ScheduleRule, type TimeOfDay } from '@carebook/proto/catalog';

export { DayOfWeek };

/** google.type.TimeOfDay of 'HH:MM'. */
export function tod(hhmm: string): TimeOfDay {
  const [hours, minutes] = hhmm.split(':').map(Number);
  return { hours, minutes, seconds: 0, nanos: 0 };
}

/** google.type.Date of 'YYYY-MM-DD'. */
export function day(iso: string): DateMessage {
  const [year, month, d] = iso.split('-').map(Number);
  return { year, month, day: d };
}

/** A rule on `days` from `start` to `end` ('HH:MM'). */
export function rules(days: DayOfWeek[], start: string, end: string): ScheduleRule[] {
  return days.map((dayOfWeek) => ({ dayOfWeek, startLocalTime: tod(start), endLocalTime: tod(end) }));
}

export const WEEKDAYS = [DayOfWeek.MONDAY, DayOfWeek.TUESDAY, DayOfWeek.WEDNESDAY, DayOfWeek.THURSDAY, DayOfWeek.FRIDAY];
export const EVERY_DAY = [...WEEKDAYS, DayOfWeek.SATURDAY, DayOfWeek.SUNDAY];

/** The doctor: Monday to Friday, 09:00-12:30 and 14:00-17:00. */
export const OFFICE_HOURS = [...rules(WEEKDAYS, '09:00', '12:30'), ...rules(WEEKDAYS, '14:00', '17:00')];

export const minutes = (n: number) => ({ seconds: n * 60, nanos: 0 });

/** A Schedule message with every unset field at its proto default, then `fields`. */
export function scheduleOf(fields: Partial<Schedule>): Schedule {
  return { ...Schedule.fromPartial({}), ...fields };
}

/** Creates a schedule through the API: 20-minute slots by default. */
export async function createSchedule(
  client: CatalogClient,
  doctorId: string,
  clinicId: string,
  fields: Partial<Schedule> & { validFrom: DateMessage },
): Promise<Schedule> {
  const schedule = scheduleOf({ doctorId, clinicId, rules: OFFICE_HOURS, slotDuration: minutes(20), ...fields });
  return (await client.createSchedule({ schedule })).schedule!;
}

export interface SlotRow {
  id: string;
  clinic_id: string;
  schedule_id: string | null;
  start_time: Date;
  end_time: Date;
  status: 'open' | 'booked';
}

/** Every slot of the doctor, by start time. */
export async function slotsOfDoctor(sql: pg.Pool, doctorId: string): Promise<SlotRow[]> {
  const { rows } = await sql.query<SlotRow>(
    `SELECT id::text, clinic_id::text, schedule_id::text, start_time, end_time, status::text AS status
     FROM slot WHERE doctor_id = $1 ORDER BY start_time`,
    [doctorId],
  );
  return rows;
}

/** Every slot the schedule made, by start time. */
export async function slotsOfSchedule(sql: pg.Pool, scheduleId: string): Promise<SlotRow[]> {
  const { rows } = await sql.query<SlotRow>(
    `SELECT id::text, clinic_id::text, schedule_id::text, start_time, end_time, status::text AS status
     FROM slot WHERE schedule_id = $1 ORDER BY start_time`,
    [scheduleId],
  );
  return rows;
}

/** 'YYYY-MM-DD HH:MM' of an instant on the wall clock of `timeZone`, by Node's own time-zone data (independent of PostgreSQL's). */
export function wallClock(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

/** Start times as ISO strings, for exact comparisons. */
export const isoStarts = (slots: { start_time: Date }[]) => slots.map((s) => s.start_time.toISOString());

/** Throws unless no two of the slots overlap. */
export function expectNoOverlap(slots: { start_time: Date; end_time: Date }[]): void {
  const sorted = [...slots].sort((a, b) => +a.start_time - +b.start_time);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].start_time < sorted[i - 1].end_time) {
      throw new Error(`slots overlap: ${sorted[i - 1].start_time.toISOString()} and ${sorted[i].start_time.toISOString()}`);
    }
  }
}
