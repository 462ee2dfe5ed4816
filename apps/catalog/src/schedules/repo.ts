import { afterTimeIdKey, type TimeIdKey } from '@carebook/server';
import { Prisma } from '../generated/prisma/client';
import type { CatalogPrisma } from '../db';
import type { Slot } from '../slots/repo';
import { formatMinutes, localDateOf, minutesOfTime, type LocalDate } from './calendar';
import { workingWindows } from './slot-candidates';
import type { ExceptionSpec, NewSchedule, Rule, Schedule, ScheduleSpec } from './spec';

/** The client or the transaction a query runs in. */
export type Db = CatalogPrisma | Prisma.TransactionClient;

/** Where two schedules of one doctor would have the doctor working at once. */
export interface WindowClash {
  day: LocalDate;
  source: 'rule' | 'extra';
  /** Local minutes of the new window. */
  start: number;
  end: number;
  otherScheduleId: string;
  otherClinicId: string;
  otherDay: LocalDate;
  otherStart: number;
  otherEnd: number;
}

/** How far ahead two schedules' windows are compared: two years covers every yearly DST pattern of both zones. */
export const OVERLAP_CHECK_DAYS = 731;

const include = {
  rules: { orderBy: [{ dayOfWeek: 'asc' as const }, { startLocalTime: 'asc' as const }] },
  exceptions: { orderBy: [{ date: 'asc' as const }, { kind: 'asc' as const }, { startLocalTime: 'asc' as const }] },
} satisfies Prisma.ScheduleInclude;

type ScheduleRow = Prisma.ScheduleGetPayload<{ include: typeof include }>;

function toSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    doctorId: row.doctorId,
    clinicId: row.clinicId,
    rules: row.rules.map((r) => ({ dayOfWeek: r.dayOfWeek, start: minutesOfTime(r.startLocalTime), end: minutesOfTime(r.endLocalTime), modality: r.modality })),
    slotMinutes: row.slotDurationMinutes,
    validFrom: localDateOf(row.validFrom),
    validUntil: row.validUntil ? localDateOf(row.validUntil) : undefined,
    exceptions: row.exceptions.map((e) => ({
      id: e.id,
      date: localDateOf(e.date),
      kind: e.kind,
      ...(e.kind === 'extra' && { start: minutesOfTime(e.startLocalTime!), end: minutesOfTime(e.endLocalTime!), modality: e.modality! }),
      createTime: e.createTime,
    })),
    materialisedThrough: row.materialisedThrough ? localDateOf(row.materialisedThrough) : undefined,
    createTime: row.createTime,
    updateTime: row.updateTime,
  };
}

// Local times go in as 'HH:MM' text: Prisma writes a @db.Time from a Date and
// would turn 24:00 into 00:00.
async function insertRules(db: Db, scheduleId: string, rules: Rule[]): Promise<void> {
  await db.$executeRaw`
    INSERT INTO schedule_rule (schedule_id, day_of_week, start_local_time, end_local_time, modality)
    SELECT ${scheduleId}::uuid, d, s::time, e::time, m::modality
    FROM unnest(${rules.map((r) => r.dayOfWeek)}::int[], ${rules.map((r) => formatMinutes(r.start))}::text[], ${rules.map((r) => formatMinutes(r.end))}::text[],
                ${rules.map((r) => r.modality)}::text[]) AS t(d, s, e, m)`;
}

/** Queries over schedules, their rules and exceptions. */
export function schedulesRepo(prisma: CatalogPrisma) {
  return {
    /** Runs `work` in one transaction (READ COMMITTED). */
    transaction: <T>(work: (tx: Prisma.TransactionClient) => Promise<T>) => prisma.$transaction(work, { maxWait: 10_000, timeout: 30_000 }),

    async findById(id: string, db: Db = prisma): Promise<Schedule | undefined> {
      const row = await db.schedule.findUnique({ where: { id }, include });
      return row ? toSchedule(row) : undefined;
    },

    /** One page of the doctor's schedules in (create_time, id) order, after the keyset position if given. */
    async listPage(doctorId: string, limit: number, after?: TimeIdKey): Promise<Schedule[]> {
      const rows = await prisma.schedule.findMany({
        where: { doctorId, ...afterTimeIdKey('createTime', after) },
        orderBy: [{ createTime: 'asc' }, { id: 'asc' }],
        take: limit,
        include,
      });
      return rows.map(toSchedule);
    },

    /**
     * Serialises changes to one doctor's schedules: the overlap check reads
     * the doctor's other schedules, so two changes must not check at once.
     * FOR NO KEY UPDATE does not block the foreign-key checks of slot inserts.
     */
    async lockDoctor(tx: Db, doctorId: string): Promise<boolean> {
      const rows = await tx.$queryRaw<unknown[]>`SELECT 1 FROM doctor WHERE id = ${doctorId}::uuid FOR NO KEY UPDATE`;
      return rows.length > 0;
    },

    async insert(tx: Db, schedule: NewSchedule): Promise<string> {
      const row = await tx.schedule.create({
        data: {
          doctorId: schedule.doctorId,
          clinicId: schedule.clinicId,
          slotDurationMinutes: schedule.slotMinutes,
          validFrom: new Date(`${schedule.validFrom}T00:00:00Z`),
          validUntil: schedule.validUntil ? new Date(`${schedule.validUntil}T00:00:00Z`) : null,
        },
        select: { id: true },
      });
      await insertRules(tx, row.id, schedule.rules);
      return row.id;
    },

    /** Replaces the schedule's fields and rules with `spec`. */
    async update(tx: Db, id: string, spec: ScheduleSpec): Promise<void> {
      await tx.schedule.update({
        where: { id },
        data: {
          slotDurationMinutes: spec.slotMinutes,
          validFrom: new Date(`${spec.validFrom}T00:00:00Z`),
          validUntil: spec.validUntil ? new Date(`${spec.validUntil}T00:00:00Z`) : null,
        },
      });
      await tx.scheduleRule.deleteMany({ where: { scheduleId: id } });
      await insertRules(tx, id, spec.rules);
    },

    async insertException(tx: Db, scheduleId: string, exception: ExceptionSpec): Promise<void> {
      const start = exception.start === undefined ? null : formatMinutes(exception.start);
      const end = exception.end === undefined ? null : formatMinutes(exception.end);
      await tx.$executeRaw`
        INSERT INTO schedule_exception (schedule_id, date, kind, start_local_time, end_local_time, modality)
        VALUES (${scheduleId}::uuid, ${exception.date}::date, ${exception.kind}::schedule_exception_kind, ${start}::time, ${end}::time,
                ${exception.modality ?? null}::modality)`;
      await tx.schedule.update({ where: { id: scheduleId }, data: { updateTime: new Date() } });
    },

    /**
     * Deletes the schedule with its rules and exceptions, and its open slots
     * that start after `now`. Its other slots (claimed, or past) stay, no
     * longer linked (ON DELETE SET NULL). Returns its claimed future slots.
     */
    async delete(tx: Db, id: string, now: Date): Promise<Slot[]> {
      // Hold the future slots still, so no claim or release slips between
      // reading the claimed ones and deleting the open ones.
      await tx.$queryRaw`SELECT 1 FROM slot WHERE schedule_id = ${id}::uuid AND start_time > ${now}::timestamptz FOR UPDATE`;
      const claimed = await tx.slot.findMany({
        where: { scheduleId: id, status: 'booked', startTime: { gt: now } },
        orderBy: { startTime: 'asc' },
      });
      await tx.slot.deleteMany({ where: { scheduleId: id, status: 'open', startTime: { gt: now } } });
      await tx.schedule.delete({ where: { id } });
      return claimed;
    },

    /**
     * The first moment where the schedule's working windows overlap a window
     * of another schedule of the same doctor (at any clinic, in any zone),
     * both compared as real instants over the first OVERLAP_CHECK_DAYS days
     * of their common validity from `today`; undefined if none.
     */
    async findWindowClash(tx: Db, scheduleId: string, today: LocalDate): Promise<WindowClash | undefined> {
      const rows = await tx.$queryRaw<WindowClash[]>`
        WITH pair AS (
          SELECT o.id, o.clinic_id, p.first_day,
                 LEAST(COALESCE(s.valid_until, 'infinity'::date), COALESCE(o.valid_until, 'infinity'::date), p.first_day + ${OVERLAP_CHECK_DAYS}::int) AS last_day
          FROM schedule s
          JOIN schedule o ON o.doctor_id = s.doctor_id AND o.id <> s.id
          CROSS JOIN LATERAL (SELECT GREATEST(s.valid_from, o.valid_from, ${today}::date) AS first_day) p
          WHERE s.id = ${scheduleId}::uuid
        ),
        mine AS MATERIALIZED (
          SELECT pair.id AS pair_id, w.* FROM pair
          CROSS JOIN LATERAL (${workingWindows(Prisma.sql`${scheduleId}::uuid`, Prisma.sql`pair.first_day`, Prisma.sql`pair.last_day`)}) w
          WHERE pair.first_day <= pair.last_day
        ),
        theirs AS MATERIALIZED (
          SELECT pair.id AS pair_id, w.* FROM pair
          CROSS JOIN LATERAL (${workingWindows(Prisma.sql`pair.id`, Prisma.sql`pair.first_day - 2`, Prisma.sql`pair.last_day + 2`)}) w
          WHERE pair.first_day <= pair.last_day
        )
        -- Zones differ by up to 26 hours, so a window can only meet windows
        -- of the other schedule's local dates two days either side.
        SELECT mine.day::text AS day, mine.source,
               (extract(epoch FROM mine.ls) / 60)::int AS start, (extract(epoch FROM mine.le) / 60)::int AS "end",
               theirs.schedule_id::text AS "otherScheduleId", theirs.clinic_id::text AS "otherClinicId", theirs.day::text AS "otherDay",
               (extract(epoch FROM theirs.ls) / 60)::int AS "otherStart", (extract(epoch FROM theirs.le) / 60)::int AS "otherEnd"
        FROM mine
        CROSS JOIN generate_series(-2, 2) AS shift(days)
        JOIN theirs ON theirs.pair_id = mine.pair_id AND theirs.day = mine.day + shift.days
        WHERE mine.window_start < theirs.window_end AND theirs.window_start < mine.window_end
        ORDER BY mine.window_start
        LIMIT 1`;
      return rows[0];
    },

    /** Today's date on the wall clock of the schedule's clinic. */
    async todayAt(db: Db, clinicId: string, now: Date): Promise<LocalDate> {
      const rows = await db.$queryRaw<{ today: string }[]>`
        SELECT ((${now}::timestamptz AT TIME ZONE c.time_zone)::date)::text AS today FROM clinic c WHERE c.id = ${clinicId}::uuid`;
      if (!rows[0]) throw new Error(`clinic ${clinicId} not found`);
      return rows[0].today;
    },
  };
}

export type SchedulesRepo = ReturnType<typeof schedulesRepo>;
