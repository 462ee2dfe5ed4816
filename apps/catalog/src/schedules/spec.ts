// What a schedule is, in the service's terms, and the checks that need no
// database: rules of one day must not overlap, every rule must hold a slot.

import { AlreadyExistsError, type FieldViolation } from '@carebook/server';
import type { Modality } from '../modality';
import { dayName, formatMinutes, type LocalDate, type LocalMinutes } from './calendar';

/** Weekly hours [start, end) on one ISO day (1 = Monday … 7 = Sunday), of one modality. */
export interface Rule {
  dayOfWeek: number;
  start: LocalMinutes;
  end: LocalMinutes;
  modality: Modality;
}

/** The fields of a schedule a client sets. */
export interface ScheduleSpec {
  rules: Rule[];
  slotMinutes: number;
  validFrom: LocalDate;
  /** Inclusive; undefined means no end. */
  validUntil: LocalDate | undefined;
}

export interface NewSchedule extends ScheduleSpec {
  doctorId: string;
  clinicId: string;
}

export type ExceptionKind = 'closed' | 'extra';

/** A closed day or extra hours on one date; `start`, `end` and `modality` are set exactly for extra hours. */
export interface ExceptionSpec {
  date: LocalDate;
  kind: ExceptionKind;
  start?: LocalMinutes;
  end?: LocalMinutes;
  modality?: Modality;
}

export interface ScheduleException extends ExceptionSpec {
  id: string;
  createTime: Date;
}

/** A stored schedule with its rules (by day, then start) and exceptions (by date, CLOSED first, then start). */
export interface Schedule extends NewSchedule {
  id: string;
  exceptions: ScheduleException[];
  materialisedThrough: LocalDate | undefined;
  createTime: Date;
  updateTime: Date;
}

/** The fields UpdateSchedule may change. */
export type UpdatableField = 'rules' | 'slotMinutes' | 'validFrom' | 'validUntil';

export const describeHours = (start: LocalMinutes, end: LocalMinutes) => `${formatMinutes(start)}-${formatMinutes(end)}`;
export const describeRule = (r: Rule) => `${dayName(r.dayOfWeek)} ${describeHours(r.start, r.end)}${r.modality === 'video' ? ' by video' : ''}`;

/** Rules in the order schedules show them: by day, then start. */
export const sortRules = (rules: Rule[]): Rule[] => [...rules].sort((a, b) => a.dayOfWeek - b.dayOfWeek || a.start - b.start);

/** Violations of the cross-field rules: each rule holds at least one slot, validity is not inverted. */
export function specViolations(spec: ScheduleSpec, prefix: string): FieldViolation[] {
  const violations: FieldViolation[] = [];
  spec.rules.forEach((rule, i) => {
    if (rule.end - rule.start < spec.slotMinutes) {
      violations.push({ field: `${prefix}rules[${i}].end_local_time`, description: `must be at least slot_duration (${spec.slotMinutes} min) after start_local_time` });
    }
  });
  // Unparsable parts ('' dates, NaN minutes) compare false and add nothing here.
  if (spec.validUntil && spec.validFrom && spec.validUntil < spec.validFrom) {
    violations.push({ field: `${prefix}valid_until`, description: 'must not be before valid_from' });
  }
  return violations;
}

/** SCHEDULE_OVERLAP when two rules of one day overlap; names both by their index in the request. */
export function assertRulesDoNotOverlap(doctorId: string, rules: Rule[], prefix: string): void {
  const ordered = rules.map((rule, index) => ({ rule, index })).sort((a, b) => a.rule.dayOfWeek - b.rule.dayOfWeek || a.rule.start - b.rule.start);
  for (let k = 1; k < ordered.length; k++) {
    const [previous, next] = [ordered[k - 1], ordered[k]];
    if (previous.rule.dayOfWeek === next.rule.dayOfWeek && next.rule.start < previous.rule.end) {
      const [first, second] = [previous, next].sort((a, b) => a.index - b.index);
      throw new AlreadyExistsError(
        `${prefix}rules[${second.index}] (${describeRule(second.rule)}) overlaps ${prefix}rules[${first.index}] (${describeRule(first.rule)})`,
        'SCHEDULE_OVERLAP',
        { doctor_id: doctorId, field: `${prefix}rules[${second.index}]`, conflicting_field: `${prefix}rules[${first.index}]` },
      );
    }
  }
}

/** The hours a schedule works on `date` before `extra` is added, as [start, end) pairs. */
export function hoursOn(schedule: Schedule, date: LocalDate, dayOfWeek: number): { start: number; end: number; what: string }[] {
  const closed = schedule.exceptions.some((e) => e.date === date && e.kind === 'closed');
  const weekly = closed ? [] : schedule.rules.filter((r) => r.dayOfWeek === dayOfWeek).map((r) => ({ ...r, what: `the weekly rule ${describeRule(r)}` }));
  const extras = schedule.exceptions
    .filter((e) => e.date === date && e.kind === 'extra')
    .map((e) => ({ start: e.start!, end: e.end!, what: `extra hours ${describeHours(e.start!, e.end!)} on ${date}` }));
  return [...weekly, ...extras];
}
