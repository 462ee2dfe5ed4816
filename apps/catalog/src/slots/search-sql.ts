import { Prisma } from '../generated/prisma/client';
import { withinSql, type Near } from '../geo';
import { MODALITY_SQL, type Modality } from '../modality';
import { SLOT_COLUMNS } from './columns';

// The SQL of SearchSlots and FindNextAvailable. Each query first picks the
// candidate slots from one of the partial slot_open_* indexes, driven by the
// most selective filter it has (see docs/search.md, section 2), and only then
// joins doctor and clinic for the names the results carry. Exported so that
// the plan test explains exactly these statements.

/**
 * A local time-of-day window [from, to) as PostgreSQL `time` literals
 * ('08:00:00', '24:00:00'), on the wall clock of `timeZone`, or of each
 * slot's clinic when it is undefined.
 */
export interface LocalWindow {
  from: string;
  to: string;
  timeZone?: string;
}

/** Filters shared by both searches; all optional. */
export interface SlotFilters {
  specialty?: string;
  clinicId?: string;
  near?: Near;
  localWindow?: LocalWindow;
  /** Undefined matches both; with `near`, only in-person slots match (matchingModality). */
  modality?: Modality;
}

export interface SlotSearch extends SlotFilters {
  doctorId?: string;
  from: Date;
  to: Date;
}

export interface NextAvailableSearch extends SlotFilters {
  from: Date;
  to: Date;
  /** How many doctors. */
  limit: number;
}

/** The keyset position after which a page starts. */
export interface SlotKeyset {
  startTime: Date;
  id: string;
}

/** Which index drives SearchSlots (docs/search.md, section 2); the plan test checks it. */
export type SearchDriver = 'doctor' | 'clinics' | 'clinic-doctor pairs' | 'specialty' | 'time';

/** Which index drives FindNextAvailable: the first slot of each doctor, or of each (clinic, doctor) pair. */
export type NextAvailableDriver = 'doctors' | 'clinic-doctor pairs';

const START_OF_DAY = '00:00:00';
const END_OF_DAY = '24:00:00';

/** The result row: the slot `s` (its specialty is its doctor's) plus the names of its doctor `d` and clinic `c`. */
export const SLOT_VIEW_COLUMNS = Prisma.sql`${SLOT_COLUMNS},
  d.display_name AS "doctorDisplayName", c.display_name AS "clinicDisplayName", c.time_zone AS "clinicTimeZone"`;

/** The index that drives SearchSlots for these filters. */
export function searchDriver(search: SlotSearch): SearchDriver {
  if (search.doctorId) return 'doctor';
  if (search.clinicId || search.near) return search.specialty ? 'clinic-doctor pairs' : 'clinics';
  return search.specialty ? 'specialty' : 'time';
}

/** The index that drives FindNextAvailable for these filters. */
export function nextAvailableDriver(search: NextAvailableSearch): NextAvailableDriver {
  return search.clinicId || search.near ? 'clinic-doctor pairs' : 'doctors';
}

const where = (conditions: Prisma.Sql[]) => Prisma.join(conditions, ' AND ');

/**
 * The modality a slot must have, if any. A search by distance looks for
 * places, and a video slot has none, so `near` means in person (the handler
 * refuses video with near).
 */
function matchingModality(filters: Pick<SlotFilters, 'near' | 'modality'>): Modality | undefined {
  return filters.near ? 'in_person' : filters.modality;
}

/**
 * The first `limit` open slots `s` starting in [from, to), after the keyset
 * position, that meet `conditions`, in (start_time, id) order: an index range
 * scan, every other test a filter on its rows. `clinicZone` is the clinic's
 * time zone when the caller has the clinic at hand (a driver row); otherwise
 * a local window joins the slot's clinic `z` by primary key for it.
 */
function firstSlots(
  search: { from: Date; to: Date; localWindow?: LocalWindow } & Pick<SlotFilters, 'near' | 'modality'>,
  conditions: Prisma.Sql[],
  limit: number,
  options: { after?: SlotKeyset; clinicZone?: Prisma.Sql } = {},
): Prisma.Sql {
  const all = [Prisma.sql`s.status = 'open'`, Prisma.sql`s.start_time >= ${search.from}`, Prisma.sql`s.start_time < ${search.to}`, ...conditions];
  const modality = matchingModality(search);
  if (modality) all.push(Prisma.sql`s.modality = ${MODALITY_SQL[modality]}`);
  if (options.after) all.push(Prisma.sql`(s.start_time, s.id) > (${options.after.startTime}, ${options.after.id}::uuid)`);
  const window = search.localWindow;
  const zone = window?.timeZone ? Prisma.sql`${window.timeZone}::text` : (options.clinicZone ?? Prisma.sql`z.time_zone`);
  const local = Prisma.sql`(s.start_time AT TIME ZONE ${zone})::time`;
  if (window && window.from !== START_OF_DAY) all.push(Prisma.sql`${local} >= ${window.from}::time`);
  if (window && window.to !== END_OF_DAY) all.push(Prisma.sql`${local} < ${window.to}::time`);
  const needsClinic = window && !window.timeZone && !options.clinicZone && (window.from !== START_OF_DAY || window.to !== END_OF_DAY);
  return Prisma.sql`SELECT s.* FROM slot s ${needsClinic ? Prisma.sql`JOIN clinic z ON z.id = s.clinic_id` : Prisma.empty}
    WHERE ${where(all)}
    ORDER BY s.start_time, s.id LIMIT ${limit}`;
}

/** Clinics `k` matching the clinic filters (one clinic, within a circle, or both). */
function clinicSet(filters: SlotFilters): Prisma.Sql {
  const conditions: Prisma.Sql[] = [];
  if (filters.clinicId) conditions.push(Prisma.sql`k.id = ${filters.clinicId}::uuid`);
  if (filters.near) conditions.push(withinSql('k', filters.near));
  return Prisma.sql`SELECT k.id, k.time_zone FROM clinic k WHERE ${where(conditions)}`;
}

/**
 * CTE `clinic_doctor(clinic_id, time_zone, doctor_id)`: every doctor with open
 * slots at each clinic of the set, found by a loose index scan over
 * slot_open_clinic_doctor_start_time_idx: each step jumps to the next
 * doctor_id of the clinic with one probe, however many slots lie between.
 * The last row of each clinic has a NULL doctor_id.
 */
function clinicDoctorPairs(filters: SlotFilters): Prisma.Sql {
  return Prisma.sql`clinic_set AS (${clinicSet(filters)}),
    clinic_doctor(clinic_id, time_zone, doctor_id) AS (
      SELECT cs.id, cs.time_zone,
        (SELECT s.doctor_id FROM slot s WHERE s.clinic_id = cs.id AND s.status = 'open' ORDER BY s.doctor_id LIMIT 1)
      FROM clinic_set cs
      UNION ALL
      SELECT cd.clinic_id, cd.time_zone,
        (SELECT s.doctor_id FROM slot s
         WHERE s.clinic_id = cd.clinic_id AND s.status = 'open' AND s.doctor_id > cd.doctor_id
         ORDER BY s.doctor_id LIMIT 1)
      FROM clinic_doctor cd WHERE cd.doctor_id IS NOT NULL)`;
}

/** The pairs, of doctors of the specialty if one is asked for. */
function pairsWithSpecialty(specialty: string | undefined): Prisma.Sql {
  return specialty
    ? Prisma.sql`clinic_doctor cd JOIN doctor pd ON pd.id = cd.doctor_id AND pd.specialty = ${specialty}`
    : Prisma.sql`clinic_doctor cd`;
}

const ofPair = [Prisma.sql`s.clinic_id = cd.clinic_id`, Prisma.sql`s.doctor_id = cd.doctor_id`];

/** WITH clause (or none) and a query yielding candidate slot rows. */
interface Candidates {
  with?: Prisma.Sql;
  rows: Prisma.Sql;
}

/** The best `limit` of the per-driver candidates `x`. */
const best = (from: Prisma.Sql, limit: number) => Prisma.sql`SELECT x.* FROM ${from} ORDER BY x.start_time, x.id LIMIT ${limit}`;

function searchCandidates(search: SlotSearch, limit: number, after?: SlotKeyset): Candidates {
  switch (searchDriver(search)) {
    case 'doctor': {
      // One doctor: slot_open_doctor_start_time_idx; everything else filters.
      const conditions = [Prisma.sql`s.doctor_id = ${search.doctorId}::uuid`];
      if (search.clinicId) conditions.push(Prisma.sql`s.clinic_id = ${search.clinicId}::uuid`);
      if (search.near) conditions.push(Prisma.sql`s.clinic_id IN (SELECT k.id FROM clinic k WHERE ${withinSql('k', search.near)})`);
      if (search.specialty) conditions.push(Prisma.sql`s.specialty = ${search.specialty}`);
      return { rows: firstSlots(search, conditions, limit, { after }) };
    }
    case 'clinics': {
      // Per clinic of the set, its first slots from slot_open_clinic_start_time_idx; then the best of those.
      const perClinic = firstSlots(search, [Prisma.sql`s.clinic_id = cs.id`], limit, { after, clinicZone: Prisma.sql`cs.time_zone` });
      return {
        with: Prisma.sql`clinic_set AS (${clinicSet(search)})`,
        rows: best(Prisma.sql`clinic_set cs CROSS JOIN LATERAL (${perClinic}) x`, limit),
      };
    }
    case 'clinic-doctor pairs': {
      // Per (clinic, doctor of the specialty) pair, its first slots; then the best of those.
      const perPair = firstSlots(search, ofPair, limit, { after, clinicZone: Prisma.sql`cd.time_zone` });
      return {
        with: clinicDoctorPairs(search),
        rows: best(Prisma.sql`${pairsWithSpecialty(search.specialty)} CROSS JOIN LATERAL (${perPair}) x`, limit),
      };
    }
    case 'specialty':
      // The slot carries its doctor's specialty: slot_open_specialty_start_time_idx in order.
      return { rows: firstSlots(search, [Prisma.sql`s.specialty = ${search.specialty}`], limit, { after }) };
    case 'time':
      // No filter to drive by: slot_open_start_time_idx in order.
      return { rows: firstSlots(search, [], limit, { after }) };
  }
}

function nextAvailableCandidates(search: NextAvailableSearch): Candidates {
  if (nextAvailableDriver(search) === 'clinic-doctor pairs') {
    // Each pair's first slot; a doctor at several clinics of the set keeps the earliest.
    const perPair = firstSlots(search, ofPair, 1, { clinicZone: Prisma.sql`cd.time_zone` });
    return {
      with: clinicDoctorPairs(search),
      rows: best(
        Prisma.sql`(SELECT DISTINCT ON (x.doctor_id) x.* FROM ${pairsWithSpecialty(search.specialty)} CROSS JOIN LATERAL (${perPair}) x
          ORDER BY x.doctor_id, x.start_time, x.id) x`,
        search.limit,
      ),
    };
  }
  // Each doctor's (of the specialty, if asked) first slot from slot_open_doctor_start_time_idx.
  // Not slot_open_specialty_start_time_idx, even with a specialty: "the first
  // slot of each of `limit` doctors" read in time order costs however many
  // slots the earliest doctors hold before `limit` distinct ones show up,
  // unbounded, where one probe per doctor of the specialty is bounded.
  const perDoctor = firstSlots(search, [Prisma.sql`s.doctor_id = sd.id`], 1);
  const specialty = search.specialty ? Prisma.sql`WHERE sd.specialty = ${search.specialty}` : Prisma.empty;
  return { rows: best(Prisma.sql`doctor sd CROSS JOIN LATERAL (${perDoctor}) x ${specialty}`, search.limit) };
}

/** Adds the doctor's and clinic's names to the candidates, keeping their order. */
function withNames({ with: ctes, rows }: Candidates, recursive: boolean): Prisma.Sql {
  const withClause = ctes ? Prisma.sql`WITH ${recursive ? Prisma.raw('RECURSIVE ') : Prisma.empty}${ctes}` : Prisma.empty;
  return Prisma.sql`${withClause}
    SELECT ${SLOT_VIEW_COLUMNS}
    FROM (${rows}) s
    JOIN doctor d ON d.id = s.doctor_id
    JOIN clinic c ON c.id = s.clinic_id
    ORDER BY s.start_time, s.id`;
}

/** SearchSlots: up to `limit` open slots after the keyset position, in (start_time, id) order, with names. */
export function searchSlotsSql(search: SlotSearch, limit: number, after?: SlotKeyset): Prisma.Sql {
  return withNames(searchCandidates(search, limit, after), searchDriver(search) === 'clinic-doctor pairs');
}

/** FindNextAvailable: the first open slot of each matching doctor, up to `search.limit` of them, in (start_time, id) order, with names. */
export function nextAvailableSql(search: NextAvailableSearch): Prisma.Sql {
  return withNames(nextAvailableCandidates(search), nextAvailableDriver(search) === 'clinic-doctor pairs');
}
