import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createLogger, migrateDatabase } from '@carebook/server';
import { deferKeysAndIndexes, runParallel, type RestoreStep } from './bulk-load';
import { progressBar, say } from './progress';

const root = fileURLToPath(new URL('..', import.meta.url));
export const migrationsDir = (service: 'catalog' | 'booking' | 'notifications') => `${root}prisma/${service}/migrations`;

/**
 * Bumped whenever the seeded data changes shape, so stale templates are not reused.
 * 2: slots carry their doctor's specialty, written by the seeder (a template
 * seeded before would have every run's copy backfill it by migration).
 */
export const SEED_VERSION = 2;

/** The data set at a scale: 1 is about 500 clinics, 5,000 doctors and 5 million slots. */
export interface DatasetShape {
  scale: number;
  clinics: number;
  doctors: number;
  /** Calendar days of slots, starting at `baseDate`; slots on weekdays only. */
  days: number;
  /** 20-minute slots from 08:00 to 16:00 local time of the doctor's clinic. */
  slotsPerDay: number;
  patients: number;
  /** Share of slots already booked, in ‰ on average: twice that for tomorrow, falling to nothing for the last day. */
  bookedPermille: number;
  /** First day of slots (UTC date, YYYY-MM-DD). */
  baseDate: string;
  weekdays: number;
  /** doctors × weekdays × slotsPerDay. */
  slots: number;
}

/** Clinic time zones, assigned round robin. */
export const TIME_ZONES = ['Europe/Berlin', 'Europe/London', 'Europe/Paris', 'Europe/Madrid', 'Europe/Rome', 'Europe/Warsaw', 'Europe/Vienna', 'Europe/Amsterdam'];

/** Specialties (stored in lower case, as catalog does), repeated by how common they are. */
const SPECIALTY_WEIGHTS: Array<[string, number]> = [
  ['general practice', 6], ['internal medicine', 3], ['pediatrics', 3], ['dentistry', 3], ['gynecology', 2], ['dermatology', 2],
  ['orthopedics', 2], ['ophthalmology', 2], ['physiotherapy', 2], ['ent', 1], ['cardiology', 1], ['psychiatry', 1], ['neurology', 1],
  ['urology', 1], ['radiology', 1], ['gastroenterology', 1], ['endocrinology', 1], ['pulmonology', 1], ['rheumatology', 1], ['oncology', 1],
];
const SPECIALTIES = SPECIALTY_WEIGHTS.flatMap(([name, weight]) => Array<string>(weight).fill(name));

/** SQL: the specialty of doctor number `j`, picked from the text[] parameter `specialties`; one definition for doctors and their slots. */
const specialtyOfDoctor = (j: string, specialties: string) => `(${specialties}::text[])[(${j} * 7) % cardinality(${specialties}::text[]) + 1]`;

function weekdaysFrom(baseDate: string, days: number): number {
  let n = 0;
  for (let d = 0; d < days; d++) {
    const day = new Date(Date.parse(`${baseDate}T00:00:00Z`) + d * 86_400_000).getUTCDay();
    if (day !== 0 && day !== 6) n++;
  }
  return n;
}

/** Tomorrow's UTC date. */
export function tomorrow(now = new Date()): string {
  return new Date(now.getTime() + 86_400_000).toISOString().slice(0, 10);
}

/** The shape of the data set at `scale` (at least one clinic, two doctors, 2,000 patients). */
export function datasetShape(scale: number, baseDate = tomorrow(), days = 60): DatasetShape {
  const doctors = Math.max(2, Math.round(5000 * scale));
  const weekdays = weekdaysFrom(baseDate, days);
  return {
    scale,
    clinics: Math.max(1, Math.round(500 * scale)),
    doctors,
    days,
    slotsPerDay: 24,
    patients: Math.max(2000, Math.round(200_000 * scale)),
    bookedPermille: 200,
    baseDate,
    weekdays,
    slots: doctors * weekdays * 24,
  };
}

// Ids are md5-derived UUIDs of each row's coordinates, so the booking
// database can be given the appointments of the slots booked in catalog
// without reading them across: both sides compute the same rows.
// $1 base date, $2 days, $3 time zones, $4 clinics, $5 booked ‰, $6..$7 doctor range, $8 patients, $9 specialties.
// The doctor's specialty is computed, once per doctor, as the doctor rows
// were made: reading it from the doctor table per slot costs about 3.5 µs a
// row, and a join reorders the rows, which come out per doctor in time order
// for the GiST index of slot_doctor_no_overlap. The foreign key on
// (doctor_id, specialty), rebuilt after the load, checks every row.
const SLOT_ROWS = `
SELECT md5('slot:' || d.j || ':' || g.day || ':' || g.k)::uuid AS slot_id,
       d.doctor_id, d.specialty, d.clinic_id, t.start_time, t.start_time + interval '20 minutes' AS end_time, b.booked,
       md5('appointment:' || d.j || ':' || g.day || ':' || g.k)::uuid AS claim_id,
       md5('patient:' || ((d.j * 31 + g.day * 17 + g.k * 7) % $8::int + 1))::uuid AS patient_id,
       'seed-' || d.j || '-' || g.day || '-' || g.k AS request_id
FROM (SELECT j, md5('doctor:' || j)::uuid AS doctor_id, ${specialtyOfDoctor('j', '$9')} AS specialty,
             md5('clinic:' || ((j - 1) % $4::int + 1))::uuid AS clinic_id,
             ($3::text[])[((j - 1) % $4::int + 1) % cardinality($3::text[]) + 1] AS tz
      FROM generate_series($6::int, $7::int) j) d
CROSS JOIN (SELECT day, k FROM generate_series(0, $2::int - 1) day, generate_series(0, 23) k
            WHERE extract(isodow FROM $1::date + day) < 6) g
CROSS JOIN LATERAL (SELECT (($1::date + g.day) + time '08:00' + g.k * interval '20 minutes') AT TIME ZONE d.tz AS start_time) t
CROSS JOIN LATERAL (SELECT (d.j::bigint * 7919 + g.day * 104729 + g.k * 31337) % 1000 < $5::int * 2 * ($2::int - g.day) / $2::int AS booked) b`;

const slotParams = (s: DatasetShape, from: number, to: number) => [s.baseDate, s.days, TIME_ZONES, s.clinics, s.bookedPermille, from, to, s.patients, SPECIALTIES];

/** What seeding took and made. */
export interface SeedStats {
  rows: Record<string, number>;
  seconds: number;
  /** Rows of the largest table per second, over the whole seed including index builds. */
  rowsPerSecond: number;
  /** Seconds per phase. */
  phases: Record<string, number>;
  notes: string[];
}

interface ColumnInfo {
  table: string;
  column: string;
  required: boolean;
}

async function columns(client: pg.Client): Promise<ColumnInfo[]> {
  const { rows } = await client.query<{ table_name: string; column_name: string; required: boolean }>(
    `SELECT table_name, column_name, (is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO') AS required
     FROM information_schema.columns WHERE table_schema = current_schema()`,
  );
  return rows.map((r) => ({ table: r.table_name, column: r.column_name, required: r.required }));
}

/** Fails clearly if migrations added a required column the seeder does not fill. */
function assertFillable(cols: ColumnInfo[], table: string, filled: string[]): void {
  const missing = cols.filter((c) => c.table === table && c.required && !filled.includes(c.column)).map((c) => c.column);
  if (missing.length) throw new Error(`bench seeder: ${table} has required columns it does not fill: ${missing.join(', ')} (update bench/seed.ts)`);
}

async function connect(url: string, count: number): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' });
      await client.connect();
      // A bulk load of data that is re-seeded after a crash anyway.
      await client.query(`SET synchronous_commit = off`);
      await client.query(`SET maintenance_work_mem = '512MB'`);
      return client;
    }),
  );
}

async function restore(
  clients: pg.Client[],
  table: string,
  steps: { first: RestoreStep[]; then: RestoreStep[]; last: RestoreStep[] },
  phases: Record<string, number>,
  quiet: boolean,
) {
  const all = [...steps.first, ...steps.then, ...steps.last];
  const bar = progressBar(`${table}: keys, indexes`, all.length, 'steps', quiet);
  let done = 0;
  for (const group of [steps.first, steps.then, steps.last]) {
    await runParallel(clients, group, (client, step) =>
      timed(phases, `${table}: ${step.name}`, async () => {
        await step.run(client);
        bar.update(++done);
      }),
    );
  }
  bar.finish();
}

async function timed(phases: Record<string, number>, name: string, fn: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  await fn();
  phases[name] = Math.round(performance.now() - t0) / 1000;
}

/** Chunks of doctors [from, to], about `parts` of them. */
function doctorChunks(doctors: number, parts: number): Array<[number, number]> {
  const size = Math.max(1, Math.ceil(doctors / parts));
  const chunks: Array<[number, number]> = [];
  for (let from = 1; from <= doctors; from += size) chunks.push([from, Math.min(doctors, from + size - 1)]);
  return chunks;
}

/**
 * Migrates and fills a catalog database with set-based INSERT … SELECT
 * generate_series, two connections at a time: clinics, doctors, the
 * doctor_clinic link and clinic coordinates where the schema has them, and
 * the slots with their keys and indexes deferred and rebuilt once.
 */
export async function seedCatalog(url: string, shape: DatasetShape, quiet: boolean): Promise<SeedStats> {
  const t0 = performance.now();
  const phases: Record<string, number> = {};
  const notes: string[] = [];
  await migrateDatabase(url, migrationsDir('catalog'), createLogger('bench-migrate', 'warn'));
  const clients = await connect(url, 2);
  const [main] = clients;
  try {
    const cols = await columns(main);
    const has = (table: string, column: string) => cols.some((c) => c.table === table && c.column === column);

    await timed(phases, 'clinics and doctors', async () => {
      const coords = has('clinic', 'latitude') && has('clinic', 'longitude');
      assertFillable(cols, 'clinic', ['display_name', 'time_zone', 'address', ...(coords ? ['latitude', 'longitude'] : [])]);
      await main.query(
        `INSERT INTO clinic (id, display_name, time_zone, address${coords ? ', latitude, longitude' : ''})
         SELECT md5('clinic:' || c)::uuid, 'Clinic ' || c, ($2::text[])[c % cardinality($2::text[]) + 1], c || ' Main Street'
                ${coords ? `, 47.3 + ((c * 7919) % 7700) / 1000.0, 5.9 + ((c * 104729) % 9100) / 1000.0` : ''}
         FROM generate_series(1, $1::int) c`,
        [shape.clinics, TIME_ZONES],
      );
      if (coords) notes.push('clinic latitude/longitude filled (columns present)');
      assertFillable(cols, 'doctor', ['clinic_id', 'display_name', 'specialty']);
      await main.query(
        `INSERT INTO doctor (id, clinic_id, display_name, specialty)
         SELECT md5('doctor:' || j)::uuid, md5('clinic:' || ((j - 1) % $1::int + 1))::uuid, 'Dr. Doctor ' || j,
                ${specialtyOfDoctor('j', '$3')}
         FROM generate_series(1, $2::int) j`,
        [shape.clinics, shape.doctors, SPECIALTIES],
      );
      if (has('doctor_clinic', 'doctor_id') && has('doctor_clinic', 'clinic_id')) {
        const required = cols.filter((c) => c.table === 'doctor_clinic' && c.required && !['doctor_id', 'clinic_id'].includes(c.column));
        if (required.length) notes.push(`doctor_clinic not filled: required columns ${required.map((c) => c.column).join(', ')}`);
        else {
          await main.query(`INSERT INTO doctor_clinic (doctor_id, clinic_id) SELECT id, clinic_id FROM doctor`);
          notes.push('doctor_clinic filled, one row per doctor (table present)');
        }
      }
    });

    assertFillable(cols, 'slot', ['doctor_id', 'specialty', 'clinic_id', 'start_time', 'end_time']);
    const deferred = await deferKeysAndIndexes(main, 'slot');
    await timed(phases, 'slots: insert', async () => {
      const bar = progressBar('slots: insert', shape.slots, 'rows', quiet);
      let done = 0;
      await runParallel(clients, doctorChunks(shape.doctors, 50), async (client, [from, to]) => {
        // With the specialty supplied, the trigger that would look it up for each row never fires.
        const result = await client.query(
          `INSERT INTO slot (id, doctor_id, specialty, clinic_id, start_time, end_time, status, claim_id)
           SELECT slot_id, doctor_id, specialty, clinic_id, start_time, end_time,
                  CASE WHEN booked THEN 'booked' ELSE 'open' END::slot_status, CASE WHEN booked THEN claim_id END
           FROM (${SLOT_ROWS}) rows`,
          slotParams(shape, from, to),
        );
        done += result.rowCount ?? 0;
        bar.update(done);
      });
      bar.finish();
    });
    await timed(phases, 'slots: keys and indexes', () => restore(clients, 'slot', deferred, phases, quiet));
    await timed(phases, 'vacuum analyze', async () => {
      say(quiet, 'catalog: VACUUM (FREEZE, ANALYZE)');
      await main.query('VACUUM (FREEZE, ANALYZE)');
    });
    const { rows } = await main.query<{ clinics: number; doctors: number; slots: number; booked: number }>(
      `SELECT (SELECT count(*) FROM clinic)::int AS clinics, (SELECT count(*) FROM doctor)::int AS doctors,
              (SELECT count(*) FROM slot)::int AS slots, (SELECT count(*) FROM slot WHERE status = 'booked')::int AS booked`,
    );
    const seconds = (performance.now() - t0) / 1000;
    return { rows: rows[0], seconds: Math.round(seconds * 10) / 10, rowsPerSecond: Math.round(rows[0].slots / seconds), phases, notes };
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

/**
 * Migrates and fills a booking database: patients, and a BOOKED appointment
 * for every slot the catalog seed marked booked (same ids, same claim), so
 * the cross-database booking invariants hold from the start.
 */
export async function seedBooking(url: string, shape: DatasetShape, quiet: boolean): Promise<SeedStats> {
  const t0 = performance.now();
  const phases: Record<string, number> = {};
  await migrateDatabase(url, migrationsDir('booking'), createLogger('bench-migrate', 'warn'));
  const clients = await connect(url, 2);
  const [main] = clients;
  try {
    const cols = await columns(main);
    assertFillable(cols, 'patient', ['display_name', 'email', 'phone', 'birth_date']);
    assertFillable(cols, 'appointment', ['patient_id', 'request_id', 'slot_id', 'doctor_id', 'clinic_id', 'start_time', 'end_time', 'modality', 'status']);
    await timed(phases, 'patients', async () => {
      // Every fifth patient gives a phone number only.
      await main.query(
        `INSERT INTO patient (id, display_name, email, phone, birth_date)
         SELECT md5('patient:' || p)::uuid, 'Patient ' || p,
                CASE WHEN p % 5 <> 0 THEN 'patient' || p || '@example.org' END,
                CASE WHEN p % 5 = 0 THEN '+49 30 ' || (1000000 + p) END,
                date '1940-01-01' + (p * 37 % 25000)
         FROM generate_series(1, $1::int) p`,
        [shape.patients],
      );
    });
    const deferred = await deferKeysAndIndexes(main, 'appointment');
    await timed(phases, 'appointments: insert', async () => {
      const expected = Math.round((shape.slots * shape.bookedPermille) / 1000);
      const bar = progressBar('appointments: insert', expected, 'rows', quiet);
      let done = 0;
      await runParallel(clients, doctorChunks(shape.doctors, 20), async (client, [from, to]) => {
        const result = await client.query(
          `INSERT INTO appointment (id, patient_id, request_id, slot_id, doctor_id, clinic_id, start_time, end_time, modality, status, reason)
           SELECT claim_id, patient_id, request_id, slot_id, doctor_id, clinic_id, start_time, end_time, 'in_person', 'booked', 'check-up'
           FROM (${SLOT_ROWS}) rows WHERE booked`,
          slotParams(shape, from, to),
        );
        done += result.rowCount ?? 0;
        bar.update(Math.min(done, expected));
      });
      bar.finish();
    });
    await timed(phases, 'appointments: keys and indexes', () => restore(clients, 'appointment', deferred, phases, quiet));
    await timed(phases, 'vacuum analyze', async () => void (await main.query('VACUUM (FREEZE, ANALYZE)')));
    const { rows } = await main.query<{ patients: number; appointments: number }>(
      `SELECT (SELECT count(*) FROM patient)::int AS patients, (SELECT count(*) FROM appointment)::int AS appointments`,
    );
    const seconds = (performance.now() - t0) / 1000;
    const largest = Math.max(rows[0].patients, rows[0].appointments);
    return { rows: rows[0], seconds: Math.round(seconds * 10) / 10, rowsPerSecond: Math.round(largest / seconds), phases, notes: [] };
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}
