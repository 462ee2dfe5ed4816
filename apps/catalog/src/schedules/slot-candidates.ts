// The SQL that turns a schedule into instants: working windows per local date
// and the slots inside them. PostgreSQL does every wall-clock → UTC step, with
// the IANA rules it ships, so materialisation and search agree on what a
// local time means. See docs/schedules.md, section 3, for why each rule
// below gets DST right by construction.

import { Prisma } from '../generated/prisma/client';

type Sql = Prisma.Sql;

/**
 * The working windows of one schedule on the local dates [firstDay, lastDay]
 * (SQL date expressions), clipped to its validity: the weekly rule of each
 * date unless the date is CLOSED, plus the date's EXTRA hours. Columns:
 * schedule_id, clinic_id, tz, slot (interval), day (date), ls and le (local
 * start and end, time), source ('rule' or 'extra'), modality, window_start and
 * window_end (timestamptz; a nonexistent local time is read in the offset
 * before the transition, PostgreSQL's rule, which is good enough for the
 * overlap check these serve).
 */
export function workingWindows(scheduleId: Sql, firstDay: Sql, lastDay: Sql): Sql {
  return Prisma.sql`
    SELECT w.*, (w.day + w.ls) AT TIME ZONE w.tz AS window_start, (w.day + w.le) AT TIME ZONE w.tz AS window_end
    FROM (
      SELECT sc.id AS schedule_id, sc.clinic_id, c.time_zone AS tz, make_interval(mins => sc.slot_duration_minutes) AS slot,
             day, r.start_local_time AS ls, r.end_local_time AS le, 'rule' AS source, r.modality
      FROM schedule sc
      JOIN clinic c ON c.id = sc.clinic_id
      CROSS JOIN LATERAL (
        SELECT GREATEST(sc.valid_from, (${firstDay})::date) + n AS day
        FROM generate_series(0, LEAST(COALESCE(sc.valid_until, 'infinity'::date), (${lastDay})::date) - GREATEST(sc.valid_from, (${firstDay})::date)) n
      ) days
      JOIN schedule_rule r ON r.schedule_id = sc.id AND r.day_of_week = extract(isodow FROM days.day)
      WHERE sc.id = ${scheduleId}
        AND NOT EXISTS (SELECT 1 FROM schedule_exception x WHERE x.schedule_id = sc.id AND x.date = days.day AND x.kind = 'closed')
      UNION ALL
      SELECT sc.id, sc.clinic_id, c.time_zone, make_interval(mins => sc.slot_duration_minutes),
             x.date, x.start_local_time, x.end_local_time, 'extra', x.modality
      FROM schedule sc
      JOIN clinic c ON c.id = sc.clinic_id
      JOIN schedule_exception x ON x.schedule_id = sc.id AND x.kind = 'extra'
      WHERE sc.id = ${scheduleId}
        AND x.date BETWEEN GREATEST(sc.valid_from, (${firstDay})::date) AND LEAST(COALESCE(sc.valid_until, 'infinity'::date), (${lastDay})::date)
    ) w`;
}

/**
 * The slots a schedule makes on the local dates [firstDay, lastDay]
 * (YYYY-MM-DD). Columns: start_time, end_time (timestamptz), modality (its
 * rule's or extra hours').
 *
 * Each window is cut into a wall-clock grid, ls + k × slot while the grid
 * slot ends by le. A grid slot [g, g + slot) becomes the real interval
 * [t, t + slot) with t = g read in the clinic's zone, and is kept only if the
 * clinic's clock shows g at t and g + slot − 1 µs at t + slot − 1 µs, i.e.
 * its wall-clock start exists and no UTC-offset change falls inside it. So:
 * no slot starts in a skipped hour; every slot lasts exactly `slot` in real
 * time; a repeated wall-clock time makes one slot, in standard time (the
 * second pass, PostgreSQL's reading of an ambiguous time); and since kept
 * slots each sit within one offset period, they never overlap.
 */
export function slotCandidates(scheduleId: string, firstDay: string, lastDay: string): Sql {
  const windows = workingWindows(Prisma.sql`${scheduleId}::uuid`, Prisma.sql`${firstDay}::date`, Prisma.sql`${lastDay}::date`);
  return Prisma.sql`
    SELECT grid.start_time, grid.start_time + grid.slot AS end_time, grid.modality
    FROM (
      SELECT g.local_start, g.local_start AT TIME ZONE g.tz AS start_time, g.slot, g.tz, g.modality
      FROM (
        SELECT w.tz, w.slot, w.modality, w.day + w.ls + k * w.slot AS local_start
        FROM (${windows}) w
        CROSS JOIN LATERAL generate_series(0, floor(extract(epoch FROM w.le - w.ls) / extract(epoch FROM w.slot))::int - 1) k
      ) g
      OFFSET 0 -- a fence: each start_time is converted once, not once per use below
    ) grid
    WHERE grid.start_time AT TIME ZONE grid.tz = grid.local_start
      AND (grid.start_time + grid.slot - interval '1 microsecond') AT TIME ZONE grid.tz
          = grid.local_start + grid.slot - interval '1 microsecond'`;
}
