import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, inspectionPool } from '@carebook/testing';
import type { Modality, Prisma } from '../src/generated/prisma/client';
import {
  nextAvailableDriver,
  nextAvailableSql,
  searchDriver,
  searchSlotsSql,
  type NextAvailableDriver,
  type NextAvailableSearch,
  type SearchDriver,
  type SlotSearch,
} from '../src/slots/search-sql';

// SearchSlots and FindNextAvailable stay index-driven on a big table: the
// plans PostgreSQL makes for the exact statements the repo issues (the same
// builders) never read the slot table sequentially. 120,000 slots of 2,000
// doctors at 200 clinics are seeded set-based, then ANALYZEd. The plans' slot
// indexes are printed for docs/search.md, section 5.

const CLINICS = 200;
const DOCTORS = 2000;
const SLOTS_PER_DOCTOR = 60;
const SPECIALTIES = 20;
const DAY = 24 * 3_600_000;
const PAGE = 51; // page_size 50, plus the row that tells another page exists

type Driver = SearchDriver | NextAvailableDriver;

/** What each driver's plan reads open slots through (one of them). */
const DRIVING_INDEXES: Record<Driver, string[]> = {
  time: ['slot_open_start_time_idx'],
  // With more filters on the one doctor, its slots at the matching clinics are as good.
  doctor: ['slot_open_doctor_start_time_idx', 'slot_open_clinic_doctor_start_time_idx'],
  specialty: ['slot_open_specialty_start_time_idx'],
  doctors: ['slot_open_doctor_start_time_idx'],
  clinics: ['slot_open_clinic_start_time_idx'],
  'clinic-doctor pairs': ['slot_open_clinic_doctor_start_time_idx'],
};

/** The driving indexes of a search: a doctor's video slots come from their own partial index. */
function drivingIndexes(driver: Driver, modality: Modality | undefined): string[] {
  if (modality === 'video' && (driver === 'doctor' || driver === 'doctors')) return ['slot_open_video_doctor_start_time_idx'];
  return DRIVING_INDEXES[driver];
}

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: pg.Pool;
let now: Date;
let sample: { doctorId: string; clinicId: string; near: { latitude: number; longitude: number }; secondPage: { startTime: Date; id: string } };

async function seed(): Promise<void> {
  await sql.query(`
    INSERT INTO clinic (display_name, time_zone, address, latitude, longitude)
    SELECT 'Clinic ' || i, CASE WHEN i % 10 = 0 THEN 'America/New_York' ELSE 'Europe/Berlin' END, 'Street ' || i,
      CASE WHEN i % 25 <> 0 THEN 47.3 + ((i * 7919) % 1000) / 1000.0 * 7.7 END,
      CASE WHEN i % 25 <> 0 THEN 5.9 + ((i * 104729) % 1000) / 1000.0 * 9.1 END
    FROM generate_series(1, ${CLINICS}) i`);
  await sql.query(`
    INSERT INTO doctor (clinic_id, display_name, specialty)
    SELECT c.id, 'Dr. ' || i, 'specialty ' || (i % ${SPECIALTIES})
    FROM generate_series(1, ${DOCTORS}) i
    JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM clinic) c ON c.n = 1 + i % ${CLINICS}`);
  // Slots happen at one of the doctor's clinics: with the schedules migration
  // that is a doctor_clinic link, which CreateDoctor makes and SQL must too.
  const { rows } = await sql.query<{ linked: boolean }>(`SELECT to_regclass('doctor_clinic') IS NOT NULL AS linked`);
  if (rows[0].linked) await sql.query(`INSERT INTO doctor_clinic (doctor_id, clinic_id) SELECT id, clinic_id FROM doctor ON CONFLICT DO NOTHING`);
  // Two slots a day per doctor for 30 days from two days ago, in the order
  // CreateSlots batches would write them; every fifth one booked. One doctor
  // in ten sees patients by video only, one in ten by video in the
  // afternoons: 15 % of the slots are video.
  await sql.query(`
    INSERT INTO slot (doctor_id, clinic_id, start_time, end_time, status, claim_id, modality)
    SELECT d.id, d.clinic_id, t.start_time, t.start_time + interval '30 minutes',
      CASE WHEN (d.n + j) % 5 = 0 THEN 'booked'::slot_status ELSE 'open'::slot_status END,
      CASE WHEN (d.n + j) % 5 = 0 THEN gen_random_uuid() END,
      CASE WHEN d.n % 10 = 0 OR (d.n % 10 = 1 AND j % 2 = 1) THEN 'video'::modality ELSE 'in_person'::modality END
    FROM (SELECT id, clinic_id, row_number() OVER (ORDER BY id) AS n FROM doctor) d
    CROSS JOIN generate_series(0, ${SLOTS_PER_DOCTOR - 1}) j
    CROSS JOIN LATERAL (SELECT date_trunc('day', $1::timestamptz) - interval '2 days' + (j / 2) * interval '1 day'
      + (8 + (j % 2) * 4 + d.n % 3) * interval '1 hour' AS start_time) t
    ORDER BY d.n, j`, [now]);
  await sql.query('ANALYZE');
}

beforeAll(async () => {
  db = await createTestDatabase('catalog');
  sql = inspectionPool(db.url, 2);
  now = new Date();
  await seed();
  const { rows } = await sql.query(`
    SELECT s.doctor_id AS "doctorId", s.clinic_id AS "clinicId", c.latitude, c.longitude
    FROM slot s JOIN clinic c ON c.id = s.clinic_id WHERE c.latitude IS NOT NULL LIMIT 1`);
  const page2 = await sql.query(`SELECT start_time AS "startTime", id FROM slot WHERE status = 'open' AND start_time >= $1 ORDER BY start_time, id OFFSET 50 LIMIT 1`, [now]);
  sample = { ...rows[0], near: { latitude: rows[0].latitude, longitude: rows[0].longitude }, secondPage: page2.rows[0] };
}, 300_000);

afterAll(async () => {
  await sql?.end();
  await db?.drop();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** EXPLAIN ANALYZE of the statement as Prisma would send it: its text and parameters. */
async function explain(statement: Prisma.Sql): Promise<{ plan: PlanNode; ms: number }> {
  const values = statement.values as unknown[];
  if (process.env.DUMP_PLANS) {
    // DUMP_PLANS=1 prints each plan as text too, buffers included.
    const text = await sql.query({ text: `EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`, values });
    console.log(text.rows.map((r) => r['QUERY PLAN']).join('\n'));
  }
  const { rows } = await sql.query({ text: `EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`, values });
  const [result] = rows[0]['QUERY PLAN'] as { Plan: PlanNode; 'Execution Time': number }[];
  return { plan: result.Plan, ms: result['Execution Time'] };
}

/**
 * EXPLAIN ANALYZE of the statement's generic plan: catalog sends it as a
 * prepared statement, and after five runs PostgreSQL may settle on a plan
 * made without the parameters' values (plan_cache_mode = auto), which must
 * be as index-driven as the custom one.
 */
async function explainGeneric(statement: Prisma.Sql): Promise<{ plan: PlanNode; ms: number }> {
  const client = await sql.connect();
  try {
    await client.query(`PREPARE plan_probe AS ${statement.text}`);
    await client.query('SET plan_cache_mode = force_generic_plan');
    // EXECUTE takes its arguments as SQL text, not as bound parameters.
    const literal = (v: unknown) => (v === null ? 'NULL' : client.escapeLiteral(v instanceof Date ? v.toISOString() : String(v)));
    const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE plan_probe(${statement.values.map(literal).join(', ')})`);
    const [result] = rows[0]['QUERY PLAN'] as { Plan: PlanNode; 'Execution Time': number }[];
    return { plan: result.Plan, ms: result['Execution Time'] };
  } finally {
    await client.query('DEALLOCATE ALL; RESET plan_cache_mode');
    client.release();
  }
}

const slotCount = async () => (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM slot')).rows[0].n;

function checkPlan(name: string, driver: Driver, expected: string[], plan: PlanNode, ms: number): void {
  const all = nodes(plan);
  const seqScans = all.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'slot');
  // Bitmap Index Scan nodes name no relation; every index of slot is named slot_*.
  const indexes = [...new Set(all.flatMap((n) => (n['Index Name'] ? [n['Index Name']] : [])))];
  const slotIndexes = indexes.filter((name) => name.startsWith('slot_'));
  const otherIndexes = indexes.filter((name) => !name.startsWith('slot_'));
  console.log(`plan ${name} [${driver}]: slot via ${slotIndexes.join(', ')}; also ${otherIndexes.join(', ') || 'no other index'}; ${ms.toFixed(1)} ms`);
  expect(seqScans, `${name}: sequential scan on slot`).toEqual([]);
  expect(slotIndexes.some((index) => expected.includes(index)), `${name}: driven by ${expected.join(' or ')}`).toBe(true);
}

const days = (n: number) => new Date(+now + n * DAY);
const mornings = { from: '08:00:00', to: '12:00:00' };

describe('search plans on a big table', () => {
  it(`seeds at least 100,000 slots`, async () => {
    expect(await slotCount()).toBeGreaterThanOrEqual(100_000);
  });

  const searches: [string, () => SlotSearch, (() => { startTime: Date; id: string })?][] = [
    ['window only', () => ({ from: now, to: days(31) })],
    ['window, mornings', () => ({ from: now, to: days(31), localWindow: mornings })],
    ['window, mornings in Tokyo', () => ({ from: now, to: days(31), localWindow: { ...mornings, timeZone: 'Asia/Tokyo' } })],
    ['doctor', () => ({ from: now, to: days(31), doctorId: sample.doctorId })],
    ['doctor, specialty, near, mornings', () => ({ from: now, to: days(31), doctorId: sample.doctorId, specialty: 'specialty 1', near: { ...sample.near, radiusKm: 50 }, localWindow: mornings })],
    ['clinic', () => ({ from: now, to: days(31), clinicId: sample.clinicId })],
    ['clinic, mornings', () => ({ from: now, to: days(7), clinicId: sample.clinicId, localWindow: mornings })],
    ['specialty', () => ({ from: now, to: days(31), specialty: 'specialty 3' })],
    ['specialty, mornings', () => ({ from: now, to: days(31), specialty: 'specialty 3', localWindow: mornings })],
    ['specialty, second page', () => ({ from: now, to: days(31), specialty: 'specialty 3' }), () => sample.secondPage],
    ['near 50 km', () => ({ from: now, to: days(31), near: { ...sample.near, radiusKm: 50 } })],
    ['near 200 km, mornings', () => ({ from: now, to: days(31), near: { ...sample.near, radiusKm: 200 }, localWindow: mornings })],
    ['near 50 km, specialty', () => ({ from: now, to: days(31), near: { ...sample.near, radiusKm: 50 }, specialty: 'specialty 7' })],
    ['near 200 km, specialty, mornings', () => ({ from: now, to: days(31), near: { ...sample.near, radiusKm: 200 }, specialty: 'specialty 7', localWindow: mornings })],
    ['clinic, specialty', () => ({ from: now, to: days(31), clinicId: sample.clinicId, specialty: 'specialty 0' })],
    ['window, VIDEO', () => ({ from: now, to: days(31), modality: 'video' })],
    ['window, IN_PERSON', () => ({ from: now, to: days(31), modality: 'in_person' })],
    ['doctor, VIDEO', () => ({ from: now, to: days(31), doctorId: sample.doctorId, modality: 'video' })],
    ['clinic, VIDEO', () => ({ from: now, to: days(31), clinicId: sample.clinicId, modality: 'video' })],
    ['specialty, VIDEO', () => ({ from: now, to: days(31), specialty: 'specialty 3', modality: 'video' })],
  ];

  it.each(searches)('SearchSlots by %s reads slots through an index', async (name, search, after) => {
    const query = search();
    const { plan, ms } = await explain(searchSlotsSql(query, PAGE, after?.()));
    checkPlan(`SearchSlots ${name}`, searchDriver(query), drivingIndexes(searchDriver(query), query.modality), plan, ms);
  });

  it.each(searches)('SearchSlots by %s reads slots through an index as a prepared statement (generic plan)', async (name, search, after) => {
    const query = search();
    const { plan, ms } = await explainGeneric(searchSlotsSql(query, PAGE, after?.()));
    checkPlan(`SearchSlots ${name} (generic)`, searchDriver(query), drivingIndexes(searchDriver(query), query.modality), plan, ms);
  });

  // The specialty's open slots lie in time order in one index range, so a
  // page reads about a page of them, however many doctors have the specialty
  // (100 here) or slots they hold. (The per-doctor plan this replaced read
  // 4,325 for the first page.) A local window filters the same range; about
  // half the slots fall in their clinic's mornings.
  const specialtyPages: [string, () => SlotSearch, (() => { startTime: Date; id: string })?][] = [
    ['specialty', () => ({ from: now, to: days(31), specialty: 'specialty 3' })],
    ['specialty, second page', () => ({ from: now, to: days(31), specialty: 'specialty 3' }), () => sample.secondPage],
    ['specialty, mornings', () => ({ from: now, to: days(31), specialty: 'specialty 3', localWindow: mornings })],
  ];

  it.each(specialtyPages)('SearchSlots by %s reads about one page of slots', async (name, search, after) => {
    const { plan } = await explain(searchSlotsSql(search(), PAGE, after?.()));
    const scans = nodes(plan).filter((n) => n['Index Name'] === 'slot_open_specialty_start_time_idx');
    const read = scans.reduce((sum, n) => sum + (n['Actual Rows']! + (n['Rows Removed by Filter'] ?? 0)) * n['Actual Loops']!, 0);
    console.log(`SearchSlots ${name}: ${read} slot index entries read for a page of ${PAGE}`);
    expect(scans).toHaveLength(1);
    expect(read).toBeGreaterThanOrEqual(PAGE);
    expect(read).toBeLessThanOrEqual(3 * PAGE);
  });

  const nextAvailable: [string, () => Omit<NextAvailableSearch, 'from' | 'to' | 'limit'>][] = [
    ['no filter', () => ({})],
    ['specialty', () => ({ specialty: 'specialty 5' })],
    ['specialty, mornings', () => ({ specialty: 'specialty 5', localWindow: mornings })],
    ['clinic', () => ({ clinicId: sample.clinicId })],
    ['near 50 km', () => ({ near: { ...sample.near, radiusKm: 50 } })],
    ['near 200 km, specialty, mornings', () => ({ near: { ...sample.near, radiusKm: 200 }, specialty: 'specialty 5', localWindow: mornings })],
    ['VIDEO', () => ({ modality: 'video' })],
    ['IN_PERSON', () => ({ modality: 'in_person' })],
    ['specialty, VIDEO', () => ({ specialty: 'specialty 5', modality: 'video' })],
    ['clinic, VIDEO', () => ({ clinicId: sample.clinicId, modality: 'video' })],
  ];

  it.each(nextAvailable)('FindNextAvailable by %s reads slots through an index', async (name, filters) => {
    const query = { ...filters(), from: now, to: days(90), limit: 20 };
    const { plan, ms } = await explain(nextAvailableSql(query));
    checkPlan(`FindNextAvailable ${name}`, nextAvailableDriver(query), drivingIndexes(nextAvailableDriver(query), query.modality), plan, ms);
  });

  it.each(nextAvailable)('FindNextAvailable by %s reads slots through an index as a prepared statement (generic plan)', async (name, filters) => {
    const query = { ...filters(), from: now, to: days(90), limit: 20 };
    const { plan, ms } = await explainGeneric(nextAvailableSql(query));
    checkPlan(`FindNextAvailable ${name} (generic)`, nextAvailableDriver(query), drivingIndexes(nextAvailableDriver(query), query.modality), plan, ms);
  });

  // Probed per doctor through the index of all open slots, a doctor without
  // video slots would be read through to the end of its 90 days (70,400
  // entries here, growing with each doctor's slots); the partial index of
  // video slots answers each probe with at most one entry.
  it('FindNextAvailable by VIDEO reads at most one slot index entry per doctor', async () => {
    const { plan } = await explain(nextAvailableSql({ modality: 'video', from: now, to: days(90), limit: 20 }));
    const slotScans = nodes(plan).filter((n) => n['Index Name']?.startsWith('slot_'));
    const read = slotScans.reduce((sum, n) => sum + (n['Actual Rows']! + (n['Rows Removed by Filter'] ?? 0)) * n['Actual Loops']!, 0);
    console.log(`FindNextAvailable VIDEO: ${read} slot index entries read for ${DOCTORS} doctors`);
    expect(slotScans.every((n) => n['Index Name'] === 'slot_open_video_doctor_start_time_idx')).toBe(true);
    expect(read).toBeLessThanOrEqual(DOCTORS);
  });
});
