import { retryOnTransactionConflict, type Logger } from '@carebook/server';
import { Prisma, type Modality } from '../generated/prisma/client';
import type { CatalogPrisma } from '../db';
import { SLOT_COLUMNS } from '../slots/columns';
import type { Slot } from '../slots/repo';
import { addDays, type LocalDate } from './calendar';
import type { Db } from './repo';
import { slotCandidates } from './slot-candidates';

/** What one materialisation of one schedule did. */
export interface MaterialiseResult {
  scheduleId: string;
  /** The last local date covered. */
  through: LocalDate;
  created: number;
  /** Future open slots that no longer fit, deleted. */
  removed: number;
  /** Slots the rules call for that another slot of the doctor already occupies (a manual slot, or a claimed one that no longer fits). */
  blocked: number;
  /** Future claimed slots of the schedule that the rules no longer produce; kept. */
  orphanedClaimed: Slot[];
}

export interface MaterialiserOptions {
  /** How many local days ahead of today slots exist (CATALOG_SLOT_HORIZON_DAYS). */
  horizonDays: number;
  now: () => Date;
  log: Logger;
}

interface LockedSchedule {
  id: string;
  doctorId: string;
  clinicId: string;
  validFrom: LocalDate;
  validUntil: LocalDate | null;
  materialisedThrough: LocalDate | null;
  today: LocalDate;
}

const DUE_BATCH = 200;
const INSERT_CHUNK = 1000;
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 30_000 };
const maxDate = (a: LocalDate, b: LocalDate) => (a > b ? a : b);
const minDate = (a: LocalDate, b: LocalDate) => (a < b ? a : b);

/**
 * Keeps a schedule's open slots equal to what its rules and exceptions make,
 * from now to `horizonDays` local days ahead. Each run of a schedule is one
 * transaction holding the doctor's and the schedule's row locks, so runs of
 * one schedule (on any replica) never interleave, and every write is
 * idempotent.
 */
export function slotMaterialiser(prisma: CatalogPrisma, options: MaterialiserOptions) {
  const { horizonDays, log } = options;

  async function lock(tx: Db, scheduleId: string, now: Date, mode: 'wait' | 'skip-if-busy-or-done'): Promise<LockedSchedule | undefined> {
    const background = mode === 'skip-if-busy-or-done';
    // Every writer of a doctor's slots (CreateSlots, schedule changes, this)
    // first queues on the doctor's row, so their inserts never deadlock in
    // the exclusion index. Schedule changes hold it already.
    await tx.$queryRaw`
      SELECT 1 FROM doctor d JOIN schedule s ON s.doctor_id = d.id WHERE s.id = ${scheduleId}::uuid FOR NO KEY UPDATE OF d`;
    const rows = await tx.$queryRaw<LockedSchedule[]>`
      SELECT s.id, s.doctor_id AS "doctorId", s.clinic_id AS "clinicId", s.valid_from::text AS "validFrom",
             s.valid_until::text AS "validUntil", s.materialised_through::text AS "materialisedThrough",
             ((${now}::timestamptz AT TIME ZONE c.time_zone)::date)::text AS today
      FROM schedule s JOIN clinic c ON c.id = s.clinic_id
      WHERE s.id = ${scheduleId}::uuid
        ${background ? Prisma.sql`AND ${behindHorizon(now)}` : Prisma.empty}
      FOR NO KEY UPDATE OF s ${background ? Prisma.sql`SKIP LOCKED` : Prisma.empty}`;
    return rows[0];
  }

  // A schedule is behind when its slots stop before today + horizon (or
  // before its last valid day, if that comes first).
  function behindHorizon(now: Date): Prisma.Sql {
    return Prisma.sql`(s.materialised_through IS NULL OR s.materialised_through <
      LEAST(COALESCE(s.valid_until, 'infinity'::date), (${now}::timestamptz AT TIME ZONE c.time_zone)::date + ${horizonDays}::int))`;
  }

  async function run(tx: Db, schedule: LockedSchedule, now: Date): Promise<MaterialiseResult> {
    const target = minDate(schedule.validUntil ?? '9999-12-31', addDays(schedule.today, horizonDays));
    // Re-check what earlier runs made, even past a horizon that has since shrunk.
    const last = maxDate(target, schedule.materialisedThrough ?? target);
    const id = schedule.id;
    // The slots the rules make, computed once; the statements below read
    // them back as arrays. Times travel as text in the session's UTC.
    const wanted = await tx.$queryRaw<{ start: string; end: string; modality: Modality }[]>`
      SELECT c.start_time::text AS start, c.end_time::text AS "end", c.modality
      FROM (${slotCandidates(id, maxDate(schedule.validFrom, schedule.today), last)}) c
      WHERE c.start_time > ${now}::timestamptz
      ORDER BY c.start_time`;
    const candidates = Prisma.sql`
      SELECT * FROM unnest(${wanted.map((w) => w.start)}::timestamptz[], ${wanted.map((w) => w.end)}::timestamptz[], ${wanted.map((w) => w.modality)}::modality[])
        AS c(start_time, end_time, modality)`;
    // A slot is the schedule's when its times and modality are what a rule
    // makes: a rule that changed modality replaces its open slots.
    const sameSlot = Prisma.sql`c.start_time = s.start_time AND c.end_time = s.end_time AND c.modality = s.modality`;

    const removed = await tx.$executeRaw`
      WITH candidate AS (${candidates})
      DELETE FROM slot s
      WHERE s.schedule_id = ${id}::uuid AND s.status = 'open' AND s.start_time > ${now}::timestamptz
        AND NOT EXISTS (SELECT 1 FROM candidate c WHERE ${sameSlot})`;
    // No conflict target: besides the (schedule_id, start_time) key, which
    // makes a re-run insert nothing, this also skips a slot that the
    // exclusion constraint refuses because another slot of the doctor is
    // already there. Slots already in place are not offered again.
    // In chunks, so a long first run (a year of slots) is several short
    // statements, each well within the statement timeout.
    let created = 0;
    for (let from = 0; from < wanted.length; from += INSERT_CHUNK) {
      const chunk = wanted.slice(from, from + INSERT_CHUNK);
      created += await tx.$executeRaw`
        INSERT INTO slot (doctor_id, clinic_id, schedule_id, start_time, end_time, modality)
        SELECT ${schedule.doctorId}::uuid, ${schedule.clinicId}::uuid, ${id}::uuid, c.start_time, c.end_time, c.modality
        FROM unnest(${chunk.map((w) => w.start)}::timestamptz[], ${chunk.map((w) => w.end)}::timestamptz[], ${chunk.map((w) => w.modality)}::modality[])
          AS c(start_time, end_time, modality)
        WHERE NOT EXISTS (SELECT 1 FROM slot s WHERE s.schedule_id = ${id}::uuid AND ${sameSlot})
        ORDER BY c.start_time
        ON CONFLICT DO NOTHING`;
    }
    const [{ blocked }] = await tx.$queryRaw<{ blocked: number }[]>`
      WITH candidate AS (${candidates})
      SELECT count(*)::int AS blocked FROM candidate c
      WHERE NOT EXISTS (SELECT 1 FROM slot s WHERE s.schedule_id = ${id}::uuid AND ${sameSlot})`;
    const orphanedClaimed = await tx.$queryRaw<Slot[]>`
      WITH candidate AS (${candidates})
      SELECT ${SLOT_COLUMNS} FROM slot s
      WHERE s.schedule_id = ${id}::uuid AND s.status = 'booked' AND s.start_time > ${now}::timestamptz
        AND NOT EXISTS (SELECT 1 FROM candidate c WHERE ${sameSlot})
      ORDER BY s.start_time`;
    const through = schedule.validUntil ? minDate(last, schedule.validUntil) : last;
    await tx.$executeRaw`UPDATE schedule SET materialised_through = ${through}::date WHERE id = ${id}::uuid`;

    const result = { scheduleId: id, through, created, removed, blocked, orphanedClaimed };
    if (created || removed) log.info({ scheduleId: id, through, created, removed }, 'slots materialised');
    if (blocked || orphanedClaimed.length) {
      log.warn({ scheduleId: id, blocked, orphanedClaimedSlotIds: orphanedClaimed.map((s) => s.id) }, 'schedule slots clash with other slots');
    }
    return result;
  }

  /**
   * Materialises the schedule inside the caller's transaction, first
   * waiting for its row lock. Undefined if the schedule does not exist.
   */
  async function inTransaction(tx: Db, scheduleId: string, now: Date = options.now()): Promise<MaterialiseResult | undefined> {
    const schedule = await lock(tx, scheduleId, now, 'wait');
    return schedule && run(tx, schedule, now);
  }

  return {
    inTransaction,

    /** Materialises one schedule in its own transaction. */
    materialise(scheduleId: string, now: Date = options.now()): Promise<MaterialiseResult | undefined> {
      return retryOnTransactionConflict(() => prisma.$transaction((tx) => inTransaction(tx, scheduleId, now), TRANSACTION_OPTIONS));
    },

    /**
     * The background pass: extends every schedule whose slots stop short of
     * the horizon, each in its own transaction. A schedule another replica
     * (or a schedule change) holds right now is skipped: that holder brings
     * it up to date. Returns the schedules this pass materialised.
     */
    async materialiseDue(now: Date = options.now()): Promise<MaterialiseResult[]> {
      const results: MaterialiseResult[] = [];
      let after = '00000000-0000-0000-0000-000000000000';
      for (;;) {
        const due = await prisma.$queryRaw<{ id: string }[]>`
          SELECT s.id::text FROM schedule s JOIN clinic c ON c.id = s.clinic_id
          WHERE s.id > ${after}::uuid AND ${behindHorizon(now)}
          ORDER BY s.id LIMIT ${DUE_BATCH}`;
        for (const { id } of due) {
          try {
            const result = await retryOnTransactionConflict(() =>
              prisma.$transaction(
                async (tx) => {
                  const schedule = await lock(tx, id, now, 'skip-if-busy-or-done');
                  return schedule && run(tx, schedule, now);
                },
                TRANSACTION_OPTIONS,
              ),
            );
            if (result) results.push(result);
          } catch (err) {
            log.error({ err, scheduleId: id }, 'schedule materialisation failed');
          }
        }
        if (due.length < DUE_BATCH) return results;
        after = due[due.length - 1].id;
      }
    },

    /**
     * How many local days the furthest-behind schedule's slots stop short of
     * where they should reach (the horizon, or the schedule's last valid
     * day); 0 when every schedule is up to date. The metric of a stalled loop.
     */
    async lagDays(now: Date = options.now()): Promise<number> {
      const [{ lag }] = await prisma.$queryRaw<{ lag: number }[]>`
        SELECT coalesce(max(LEAST(COALESCE(s.valid_until, 'infinity'::date), (${now}::timestamptz AT TIME ZONE c.time_zone)::date + ${horizonDays}::int)
                            - COALESCE(s.materialised_through, (${now}::timestamptz AT TIME ZONE c.time_zone)::date - 1)), 0)::int AS lag
        FROM schedule s JOIN clinic c ON c.id = s.clinic_id
        WHERE ${behindHorizon(now)}`;
      return lag;
    },
  };
}

export type SlotMaterialiser = ReturnType<typeof slotMaterialiser>;
