import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  retryOnTransactionConflict,
  toPage,
  type Page,
  type TimeIdKey,
} from '@carebook/server';
import type { ClinicsService } from '../clinics/service';
import type { DoctorsService } from '../doctors/service';
import type { Slot } from '../slots/repo';
import { dayName, isoDayOfWeek } from './calendar';
import type { SlotMaterialiser } from './materialiser';
import type { Db, SchedulesRepo, WindowClash } from './repo';
import {
  assertRulesDoNotOverlap,
  describeHours,
  hoursOn,
  specViolations,
  type ExceptionSpec,
  type NewSchedule,
  type Rule,
  type Schedule,
  type ScheduleSpec,
  type UpdatableField,
} from './spec';

/** A schedule after a change, with the claimed slots the change left without a rule. */
export interface ScheduleChange {
  schedule: Schedule;
  orphanedClaimed: Slot[];
}

export interface SchedulesServiceDeps {
  repo: SchedulesRepo;
  materialiser: SlotMaterialiser;
  doctors: DoctorsService;
  clinics: ClinicsService;
  now: () => Date;
}

const scheduleKey = (s: Schedule): TimeIdKey => [s.createTime.toISOString(), s.id];

/** The field a clashing window of `rules` came from, for the error. */
function clashingField(clash: WindowClash, rules: Rule[], prefix: string): { field: string; what: string } {
  const hours = describeHours(clash.start, clash.end);
  if (clash.source === 'extra') return { field: 'date', what: `extra hours ${hours} on ${clash.day}` };
  const index = rules.findIndex((r) => r.dayOfWeek === isoDayOfWeek(clash.day) && r.start === clash.start);
  return { field: `${prefix}rules[${index}]`, what: `${prefix}rules[${index}] (${dayName(isoDayOfWeek(clash.day))} ${hours})` };
}

/**
 * Business rules for schedules. Every change runs in one transaction that
 * first locks the doctor (so changes to one doctor's schedules check
 * overlaps one at a time), writes, checks, and materialises the schedule's
 * slots before committing: the caller gets the schedule with its slots in
 * place, or nothing changed.
 */
export function schedulesService({ repo, materialiser, doctors, clinics, now }: SchedulesServiceDeps) {
  async function get(id: string, db?: Db): Promise<Schedule> {
    const schedule = await repo.findById(id, db);
    if (!schedule) throw new NotFoundError('schedule', id);
    return schedule;
  }

  /** SCHEDULE_OVERLAP when the schedule's hours meet another schedule of the doctor. */
  async function assertNoClash(tx: Db, schedule: { id: string; doctorId: string; clinicId: string; rules: Rule[] }, prefix: string): Promise<void> {
    const today = await repo.todayAt(tx, schedule.clinicId, now());
    const clash = await repo.findWindowClash(tx, schedule.id, today);
    if (!clash) return;
    const mine = clashingField(clash, schedule.rules, prefix);
    const theirs = `${dayName(isoDayOfWeek(clash.otherDay))} ${describeHours(clash.otherStart, clash.otherEnd)}`;
    throw new AlreadyExistsError(
      `${mine.what} overlaps schedule ${clash.otherScheduleId} of the doctor at clinic ${clash.otherClinicId} (${theirs}) on ${clash.day}`,
      'SCHEDULE_OVERLAP',
      { doctor_id: schedule.doctorId, field: mine.field, date: clash.day, conflicting_schedule_id: clash.otherScheduleId, conflicting_clinic_id: clash.otherClinicId },
    );
  }

  /** Runs a change of the doctor's schedules in one transaction holding the doctor's lock. */
  function changeOfDoctor<T>(doctorId: string, work: (tx: Db) => Promise<T>): Promise<T> {
    // Slot inserts of two schedules of one doctor can deadlock in the
    // exclusion index; PostgreSQL aborts one, and the retry runs it again.
    return retryOnTransactionConflict(() =>
      repo.transaction(async (tx) => {
        if (!(await repo.lockDoctor(tx, doctorId))) throw new NotFoundError('doctor', doctorId);
        return work(tx);
      }),
    );
  }

  async function materialise(tx: Db, id: string): Promise<ScheduleChange> {
    const result = await materialiser.inTransaction(tx, id, now());
    return { schedule: await get(id, tx), orphanedClaimed: result?.orphanedClaimed ?? [] };
  }

  return {
    get,

    async create(schedule: NewSchedule): Promise<Schedule> {
      assertRulesDoNotOverlap(schedule.doctorId, schedule.rules, 'schedule.');
      const doctor = await doctors.get(schedule.doctorId);
      await clinics.get(schedule.clinicId);
      // Links are never removed, so this holds in the transaction too; the
      // foreign key to doctor_clinic backs it up.
      doctors.assertPractisesAt(doctor, schedule.clinicId);
      const change = await changeOfDoctor(schedule.doctorId, async (tx) => {
        const id = await repo.insert(tx, schedule);
        await assertNoClash(tx, { ...schedule, id }, 'schedule.');
        return materialise(tx, id);
      });
      return change.schedule;
    },

    async list(doctorId: string, pageSize: number, after: TimeIdKey | undefined): Promise<Page<Schedule>> {
      const rows = await repo.listPage(doctorId, pageSize + 1, after);
      return toPage(rows, pageSize, scheduleKey);
    },

    /** Replaces the fields named in `fields` with those of `patch`, then re-materialises. */
    async update(id: string, patch: ScheduleSpec, fields: UpdatableField[]): Promise<ScheduleChange> {
      const { doctorId } = await get(id);
      return changeOfDoctor(doctorId, async (tx) => {
        const current = await get(id, tx);
        const merged: ScheduleSpec = { rules: current.rules, slotMinutes: current.slotMinutes, validFrom: current.validFrom, validUntil: current.validUntil };
        for (const field of fields) Object.assign(merged, { [field]: patch[field] });
        const violations = specViolations(merged, 'schedule.');
        if (violations.length) throw new InvalidArgumentError(violations);
        assertRulesDoNotOverlap(doctorId, merged.rules, 'schedule.');
        await repo.update(tx, id, merged);
        await assertNoClash(tx, { ...current, ...merged }, 'schedule.');
        return materialise(tx, id);
      });
    },

    /** Deletes the schedule and its future open slots; returns its claimed future slots, which stay. */
    async delete(id: string): Promise<Slot[]> {
      const { doctorId } = await get(id);
      return changeOfDoctor(doctorId, async (tx) => {
        await get(id, tx);
        return repo.delete(tx, id, now());
      });
    },

    /** Adds a closed day or extra hours; adding one the schedule already has changes nothing. */
    async addException(scheduleId: string, exception: ExceptionSpec): Promise<ScheduleChange> {
      const { doctorId } = await get(scheduleId);
      return changeOfDoctor(doctorId, async (tx) => {
        const schedule = await get(scheduleId, tx);
        const { date } = exception;
        if (date < schedule.validFrom || (schedule.validUntil !== undefined && date > schedule.validUntil)) {
          throw new FailedPreconditionError(
            `date ${date} is outside the schedule's validity (${schedule.validFrom} to ${schedule.validUntil ?? 'no end'})`,
            'DATE_OUTSIDE_SCHEDULE',
            { schedule_id: scheduleId, date },
          );
        }
        const exists = schedule.exceptions.some(
          (e) => e.date === date && e.kind === exception.kind && e.start === exception.start && e.end === exception.end && e.modality === exception.modality,
        );
        if (!exists) {
          if (exception.kind === 'extra') assertExtraFits(schedule, exception);
          await repo.insertException(tx, scheduleId, exception);
          if (exception.kind === 'extra') await assertNoClash(tx, schedule, '');
        }
        return materialise(tx, scheduleId);
      });
    },
  };
}

/** Extra hours must hold a slot and must not overlap the day's other hours of the schedule. */
function assertExtraFits(schedule: Schedule, extra: ExceptionSpec): void {
  const [start, end] = [extra.start!, extra.end!];
  if (end - start < schedule.slotMinutes) {
    throw new InvalidArgumentError([
      { field: 'end_local_time', description: `must be at least the schedule's slot_duration (${schedule.slotMinutes} min) after start_local_time` },
    ]);
  }
  const clash = hoursOn(schedule, extra.date, isoDayOfWeek(extra.date)).find((h) => h.start < end && start < h.end);
  if (clash) {
    throw new AlreadyExistsError(
      `extra hours ${describeHours(start, end)} on ${extra.date} overlap ${clash.what} of the schedule`,
      'SCHEDULE_OVERLAP',
      { doctor_id: schedule.doctorId, schedule_id: schedule.id, field: 'start_local_time', date: extra.date },
    );
  }
}

export type SchedulesService = ReturnType<typeof schedulesService>;
