import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  expectNoSchemaDrift,
  expectServiceSchemaMatchesPrisma,
  findSchemaDrift,
  type SqlOnlyObjects,
  inspectionPool,
} from '@carebook/testing';

const schemaPath = fileURLToPath(new URL('../../../prisma/catalog/schema.prisma', import.meta.url));

/** What the catalog's migration.sql adds beyond schema.prisma: the invariants Prisma cannot express. */
const catalogSqlOnly: SqlOnlyObjects = {
  extensions: ['btree_gist'],
  constraints: [
    {
      table: 'slot',
      name: 'slot_doctor_no_overlap',
      type: 'exclusion',
      definition: "EXCLUDE USING gist (doctor_id WITH =, tstzrange(start_time, end_time, '[)'::text) WITH &&)",
    },
    { table: 'slot', name: 'slot_time_order_check', type: 'check', definition: /end_time > start_time.*'24:00:00'::interval/ },
    { table: 'slot', name: 'slot_claim_matches_status_check', type: 'check', definition: "(status = 'open'::slot_status) = (claim_id IS NULL)" },
    { table: 'clinic', name: 'clinic_display_name_check', type: 'check', definition: 'btrim(display_name)' },
    { table: 'doctor', name: 'doctor_display_name_check', type: 'check', definition: 'btrim(display_name)' },
    { table: 'doctor', name: 'doctor_specialty_check', type: 'check', definition: 'btrim(specialty)' },
    // Specialties in lower case (migration 20261201000000_specialty_lower_case).
    { table: 'doctor', name: 'doctor_specialty_lower_case_check', type: 'check', definition: 'specialty = lower(specialty)' },
    { table: 'slot', name: 'slot_specialty_lower_case_check', type: 'check', definition: 'specialty = lower(specialty)' },
    { table: 'clinic', name: 'clinic_latitude_check', type: 'check', definition: /latitude >= .*-90.* AND .*latitude <= .*90/ },
    { table: 'clinic', name: 'clinic_longitude_check', type: 'check', definition: /longitude >= .*-180.* AND .*longitude <= .*180/ },
    { table: 'clinic', name: 'clinic_location_check', type: 'check', definition: '(latitude IS NULL) = (longitude IS NULL)' },
    // Schedules (migration 20261127000000_schedules).
    { table: 'schedule', name: 'schedule_slot_duration_minutes_check', type: 'check', definition: /slot_duration_minutes >= 5.*slot_duration_minutes <= 1440/ },
    { table: 'schedule', name: 'schedule_validity_check', type: 'check', definition: 'valid_until >= valid_from' },
    { table: 'schedule_rule', name: 'schedule_rule_day_of_week_check', type: 'check', definition: /day_of_week >= 1.*day_of_week <= 7/ },
    { table: 'schedule_rule', name: 'schedule_rule_time_order_check', type: 'check', definition: 'end_local_time > start_local_time' },
    {
      table: 'schedule_rule',
      name: 'schedule_rule_no_overlap',
      type: 'exclusion',
      definition:
        "EXCLUDE USING gist (schedule_id WITH =, day_of_week WITH =, numrange(EXTRACT(epoch FROM start_local_time), EXTRACT(epoch FROM end_local_time), '[)'::text) WITH &&)",
    },
    { table: 'schedule_exception', name: 'schedule_exception_hours_check', type: 'check', definition: /kind = 'closed'.*IS NULL.*kind = 'extra'.*end_local_time > start_local_time/ },
    {
      table: 'schedule_exception',
      name: 'schedule_exception_extra_no_overlap',
      type: 'exclusion',
      definition:
        "EXCLUDE USING gist (schedule_id WITH =, date WITH =, numrange(EXTRACT(epoch FROM start_local_time), EXTRACT(epoch FROM end_local_time), '[)'::text) WITH &&) WHERE ((kind = 'extra'::schedule_exception_kind))",
    },
    // Modality (migration 20261202010000_modality).
    { table: 'schedule_exception', name: 'schedule_exception_modality_check', type: 'check', definition: "(kind = 'extra'::schedule_exception_kind) = (modality IS NOT NULL)" },
  ],
  indexes: [
    { table: 'slot', name: 'slot_open_start_time_idx', columns: ['start_time', 'id'], where: "(status = 'open'::slot_status)" },
    { table: 'slot', name: 'slot_open_doctor_start_time_idx', columns: ['doctor_id', 'start_time', 'id'], where: "(status = 'open'::slot_status)" },
    { table: 'slot', name: 'slot_open_clinic_start_time_idx', columns: ['clinic_id', 'start_time', 'id'], where: "(status = 'open'::slot_status)" },
    // Slot specialty (migration 20261128000000_slot_specialty).
    { table: 'slot', name: 'slot_open_specialty_start_time_idx', columns: ['specialty', 'start_time', 'id'], where: "(status = 'open'::slot_status)" },
    {
      table: 'slot',
      name: 'slot_open_clinic_doctor_start_time_idx',
      columns: ['clinic_id', 'doctor_id', 'start_time', 'id'],
      where: "(status = 'open'::slot_status)",
    },
    { table: 'slot', name: 'slot_schedule_id_start_time_key', columns: ['schedule_id', 'start_time'], unique: true, where: '(schedule_id IS NOT NULL)' },
    { table: 'schedule_exception', name: 'schedule_exception_closed_key', columns: ['schedule_id', 'date'], unique: true, where: "(kind = 'closed'::schedule_exception_kind)" },
    // Modality (migration 20261202010000_modality).
    {
      table: 'slot',
      name: 'slot_open_video_doctor_start_time_idx',
      columns: ['doctor_id', 'start_time', 'id'],
      where: "((status = 'open'::slot_status) AND (modality = 'video'::modality))",
    },
  ],
};

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('catalog');
  sql = inspectionPool(db.url, 2);
});

afterAll(async () => {
  await sql?.end();
  await db?.drop();
});

describe('catalog schema', () => {
  it('matches prisma/catalog/schema.prisma, with the SQL-only invariants present', async () => {
    await expectNoSchemaDrift({ databaseUrl: db.url, schemaPath, sqlOnly: catalogSqlOnly });
  });

  it('passes the one-call check services reuse', async () => {
    await expectServiceSchemaMatchesPrisma('catalog', catalogSqlOnly);
  });

  it('reports the SQL-only objects as unknown when they are not listed', async () => {
    const problems = await findSchemaDrift({ databaseUrl: db.url, schemaPath });
    expect(problems).toHaveLength(catalogSqlOnly.constraints!.length + catalogSqlOnly.indexes!.length);
    for (const name of [...catalogSqlOnly.constraints!, ...catalogSqlOnly.indexes!].map((o) => o.name)) {
      expect(problems.some((p) => p.includes(` ${name} `))).toBe(true);
    }
  });
});

describe('the drift check', () => {
  // Each case alters a throwaway clone and expects the check to name the change.
  let scratch: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    scratch = await createTestDatabase('catalog');
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    try {
      await client.query(`
        ALTER TABLE clinic ALTER COLUMN address TYPE varchar(200);
        ALTER TABLE clinic ALTER COLUMN time_zone DROP NOT NULL;
        ALTER TABLE clinic ALTER COLUMN create_time DROP DEFAULT;
        ALTER TABLE clinic ADD COLUMN phone text;
        ALTER TABLE doctor ALTER COLUMN specialty SET DEFAULT 'general';
        DROP INDEX doctor_specialty_create_time_id_idx;
        CREATE INDEX doctor_display_name_idx ON doctor (display_name);
        ALTER TABLE slot DROP CONSTRAINT slot_doctor_id_specialty_fkey;
        ALTER TABLE slot ADD CONSTRAINT slot_doctor_id_specialty_fkey FOREIGN KEY (doctor_id, specialty) REFERENCES doctor(id, specialty) ON DELETE CASCADE ON UPDATE NO ACTION;
        ALTER TABLE slot DROP CONSTRAINT slot_clinic_id_fkey;
        ALTER TABLE slot DROP CONSTRAINT slot_time_order_check;
        DROP INDEX slot_open_clinic_start_time_idx;
        ALTER TYPE slot_status ADD VALUE 'cancelled';
        CREATE TABLE audit (id int);
      `);
    } finally {
      await client.end();
    }
  });

  afterAll(async () => {
    await scratch?.drop();
  });

  it('names every difference from schema.prisma', async () => {
    const problems = await findSchemaDrift({ databaseUrl: scratch.url, schemaPath, sqlOnly: catalogSqlOnly });
    expect(problems.sort()).toEqual(
      [
        'column clinic.address (Clinic) is character varying(200), schema.prisma says text',
        'column clinic.time_zone (Clinic) is nullable, schema.prisma says NOT NULL',
        'column clinic.create_time (Clinic) has no DEFAULT, schema.prisma declares one',
        'column clinic.phone is not in schema.prisma',
        "column doctor.specialty (Doctor) has DEFAULT 'general'::text, schema.prisma declares none",
        'normal index doctor_specialty_create_time_id_idx on doctor(specialty, create_time, id) is missing',
        'index doctor_display_name_idx on doctor is not in schema.prisma nor listed as SQL-only: CREATE INDEX doctor_display_name_idx ON public.doctor USING btree (display_name)',
        'foreign key slot(doctor_id, specialty) → doctor(id, specialty) is ON DELETE CASCADE, schema.prisma says RESTRICT',
        'foreign key slot(doctor_id, specialty) → doctor(id, specialty) is ON UPDATE NO ACTION, schema.prisma says CASCADE',
        'foreign key slot(clinic_id) → clinic(id) is missing',
        'check constraint slot_time_order_check on slot is missing',
        'index slot_open_clinic_start_time_idx on slot(clinic_id, start_time, id) is missing',
        'enum slot_status has values (open, booked, cancelled), schema.prisma says (open, booked)',
        'table audit is not in schema.prisma',
      ].sort(),
    );
  });

  it('reports a missing table and the SQL-only objects that went with it', async () => {
    const clone = await createTestDatabase('catalog');
    try {
      const client = new pg.Client({ connectionString: clone.url });
      await client.connect();
      await client.query('DROP TABLE slot').finally(() => client.end());
      const problems = await findSchemaDrift({ databaseUrl: clone.url, schemaPath, sqlOnly: catalogSqlOnly });
      expect(problems).toContain('table slot (model Slot) is missing');
      expect(problems).toContain('exclusion constraint slot_doctor_no_overlap on slot is missing');
      expect(problems).toContain('index slot_open_start_time_idx on slot(start_time, id) is missing');
    } finally {
      await clone.drop();
    }
  });
});
