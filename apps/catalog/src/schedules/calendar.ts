// Calendar values of schedules: local dates as 'YYYY-MM-DD' strings, local
// times as minutes since midnight (0 … 1440, where 1440 is 24:00, the end of
// the day). Both are wall-clock values of the clinic's time zone; only
// PostgreSQL turns them into instants (see slot-candidates.ts).

import { DayOfWeek, type DateMessage, type Duration, type TimeOfDay } from '@carebook/proto/catalog';
import type { RequestValidator } from '@carebook/server';

/** A local calendar date, 'YYYY-MM-DD'. */
export type LocalDate = string;
/** A local time of day in minutes since midnight, 0 … 1440. */
export type LocalMinutes = number;

export const MINUTES_PER_DAY = 1440;
const DAY_MS = 86_400_000;

/** 'YYYY-MM-DD' of a Date holding a calendar date at UTC midnight (how Prisma reads @db.Date). */
export function localDateOf(date: Date): LocalDate {
  return date.toISOString().slice(0, 10);
}

/** The calendar date `days` after `date`. */
export function addDays(date: LocalDate, days: number): LocalDate {
  return localDateOf(new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS));
}

/** ISO day of the week of a date: 1 = Monday … 7 = Sunday. */
export function isoDayOfWeek(date: LocalDate): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay() || 7;
}

/** Minutes since midnight of a Date holding a time of day on 1970-01-01 UTC (how Prisma reads @db.Time; 24:00 is the next midnight). */
export function minutesOfTime(time: Date): LocalMinutes {
  return Math.round(time.getTime() / 60_000);
}

/** 'HH:MM', as PostgreSQL's `time` accepts it ('24:00' included). */
export function formatMinutes(minutes: LocalMinutes): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

export const dayName = (day: number): string => DayOfWeek[day] ?? String(day);

/** google.type.Date of a local date. */
export function toDateMessage(date: LocalDate): DateMessage {
  const [year, month, day] = date.split('-').map(Number);
  return { year, month, day };
}

/** google.type.TimeOfDay of a local time (1440 becomes 24:00). */
export function toTimeOfDay(minutes: LocalMinutes): TimeOfDay {
  return { hours: Math.floor(minutes / 60), minutes: minutes % 60, seconds: 0, nanos: 0 };
}

/** google.protobuf.Duration of whole minutes. */
export function toDuration(minutes: number): Duration {
  return { seconds: minutes * 60, nanos: 0 };
}

/** Parses a full calendar date; records a violation and returns '' when missing or invalid. */
export function parseDate(v: RequestValidator, field: string, date: DateMessage | undefined): LocalDate {
  if (!date) {
    v.fail(field, 'is required');
    return '';
  }
  const { year, month, day } = date;
  const value = new Date(Date.UTC(year, month - 1, day));
  const valid = year >= 2000 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && value.getUTCMonth() === month - 1;
  if (!valid) {
    v.fail(field, 'must be a full calendar date from year 2000 on');
    return '';
  }
  return localDateOf(value);
}

/**
 * Parses a wall-clock time of whole minutes. Start times run 00:00 … 23:59;
 * end times 00:01 … 24:00, the day's end. Records a violation and returns
 * NaN when missing or invalid.
 */
export function parseLocalTime(v: RequestValidator, field: string, time: TimeOfDay | undefined, role: 'start' | 'end'): LocalMinutes {
  if (!time) {
    v.fail(field, 'is required');
    return Number.NaN;
  }
  const { hours, minutes, seconds, nanos } = time;
  const endOfDay = role === 'end' && hours === 24 && minutes === 0;
  if (seconds !== 0 || nanos !== 0) v.fail(field, 'must be whole minutes');
  else if (!endOfDay && !(hours >= 0 && hours <= 23 && minutes >= 0 && minutes <= 59)) {
    v.fail(field, role === 'end' ? 'must be a time from 00:01 to 24:00' : 'must be a time from 00:00 to 23:59');
  } else {
    const value = hours * 60 + minutes;
    if (role === 'end' && value === 0) v.fail(field, 'must be a time from 00:01 to 24:00');
    else return value;
  }
  return Number.NaN;
}

export const MIN_SLOT_MINUTES = 5;

/** Parses a slot duration of whole minutes, 5 minutes to 24 hours; NaN when invalid. */
export function parseSlotDuration(v: RequestValidator, field: string, duration: Duration | undefined): number {
  if (!duration) {
    v.fail(field, 'is required');
    return Number.NaN;
  }
  const seconds = Number(duration.seconds);
  if (duration.nanos !== 0 || !Number.isInteger(seconds) || seconds % 60 !== 0) v.fail(field, 'must be whole minutes');
  else if (seconds < MIN_SLOT_MINUTES * 60 || seconds > MINUTES_PER_DAY * 60) v.fail(field, 'must be from 5 minutes to 24 hours');
  else return seconds / 60;
  return Number.NaN;
}
