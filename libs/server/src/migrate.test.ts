import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmptyDatabase, pollUntil, inspectionPool } from '@carebook/testing';
import { migrateDatabase, NO_TRANSACTION_MARKER, readMigrations } from './migrate';

const catalogMigrations = fileURLToPath(new URL('../../../prisma/catalog/migrations', import.meta.url));
const PRISMA_LOCK_KEY = 72707369;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A pino logger whose records land in `records`. */
function capturingLogger() {
  const records: { level: number; msg: string; migration?: string }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) records.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), records };
}

const silent = pino({ level: 'silent' });

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

let db: Awaited<ReturnType<typeof createEmptyDatabase>>;
let sql: pg.Pool;
let tempDirs: string[] = [];

beforeEach(async () => {
  db = await createEmptyDatabase('test_migrate');
  sql = inspectionPool(db.url, 3);
});

afterEach(async () => {
  await sql.end();
  await db.drop();
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
  tempDirs = [];
});

const migrationRows = async () =>
  (await sql.query<MigrationRow>('SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name')).rows;

const tableExists = async (table: string) =>
  (await sql.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`public.${table}`])).rows[0].t !== null;

/** A migrations directory holding `files` (name → SQL). */
async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'carebook-migrations-'));
  tempDirs.push(dir);
  for (const [name, script] of Object.entries(files)) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'migration.sql'), script);
  }
  await writeFile(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
  return dir;
}

describe('migrateDatabase on the catalog migrations', () => {
  it('applies every migration to an empty database and records it as Prisma does', async () => {
    const names = (await readdir(catalogMigrations, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect(names.length).toBeGreaterThan(0);

    const before = new Date();
    const applied = await migrateDatabase(db.url, catalogMigrations, silent);
    expect(applied).toEqual(names);

    const rows = await migrationRows();
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const row of rows) {
      const bytes = await readFile(join(catalogMigrations, row.migration_name, 'migration.sql'));
      expect(row.id).toMatch(UUID);
      expect(row.checksum).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.started_at.getTime()).toBeGreaterThanOrEqual(before.getTime() - 5_000);
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row.applied_steps_count).toBe(1);
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
    }
    for (const table of ['clinic', 'doctor', 'slot']) expect(await tableExists(table)).toBe(true);
  });

  it('creates _prisma_migrations with the columns Prisma creates', async () => {
    await migrateDatabase(db.url, catalogMigrations, silent);
    const { rows } = await sql.query(
      `SELECT column_name, data_type, character_maximum_length AS max, is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '_prisma_migrations'
        ORDER BY ordinal_position`,
    );
    expect(rows).toEqual([
      { column_name: 'id', data_type: 'character varying', max: 36, is_nullable: 'NO', column_default: null },
      { column_name: 'checksum', data_type: 'character varying', max: 64, is_nullable: 'NO', column_default: null },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', max: null, is_nullable: 'YES', column_default: null },
      { column_name: 'migration_name', data_type: 'character varying', max: 255, is_nullable: 'NO', column_default: null },
      { column_name: 'logs', data_type: 'text', max: null, is_nullable: 'YES', column_default: null },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', max: null, is_nullable: 'YES', column_default: null },
      { column_name: 'started_at', data_type: 'timestamp with time zone', max: null, is_nullable: 'NO', column_default: 'now()' },
      { column_name: 'applied_steps_count', data_type: 'integer', max: null, is_nullable: 'NO', column_default: '0' },
    ]);
    const pk = await sql.query(
      `SELECT conname FROM pg_constraint WHERE conrelid = '"_prisma_migrations"'::regclass AND contype = 'p'`,
    );
    expect(pk.rows).toEqual([{ conname: '_prisma_migrations_pkey' }]);
  });

  it('applies nothing when run again', async () => {
    await migrateDatabase(db.url, catalogMigrations, silent);
    const first = await migrationRows();
    const { log, records } = capturingLogger();

    expect(await migrateDatabase(db.url, catalogMigrations, log)).toEqual([]);
    expect(await migrationRows()).toEqual(first);
    expect(records.filter((r) => r.level >= 40)).toEqual([]);
  });

  it('applies each migration exactly once when four runners start together', async () => {
    // Hold Prisma's lock so all four runners are provably queued on it at once.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [PRISMA_LOCK_KEY]);
      const runners = Promise.all(Array.from({ length: 4 }, () => migrateDatabase(db.url, catalogMigrations, silent)));
      // Keep a rejection from going unhandled while we wait.
      runners.catch(() => undefined);
      await pollUntil('four runners waiting on the advisory lock', async () => {
        const { rows } = await holder.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        return rows[0].n === 4 ? true : undefined;
      });
      // Nothing ran while the lock was held, not even the table creation.
      expect(await tableExists('_prisma_migrations')).toBe(false);
      await holder.query('SELECT pg_advisory_unlock($1)', [PRISMA_LOCK_KEY]);

      const results = await runners;
      const names = (await readMigrations(catalogMigrations)).map((m) => m.name);
      expect(results.flat().sort()).toEqual(names);
      expect(results.filter((r) => r.length > 0)).toHaveLength(1);
      const rows = await migrationRows();
      expect(rows.map((r) => r.migration_name)).toEqual(names);
      expect(rows.every((r) => r.finished_at !== null && r.applied_steps_count === 1)).toBe(true);
    } finally {
      await holder.end();
    }
  });
});

describe('migrateDatabase with several migrations', () => {
  it('applies migrations in name order and only the new ones later', async () => {
    const dir = await migrationsDir({
      '20260101000000_b_second': 'ALTER TABLE thing ADD COLUMN label text;',
      '20250101000000_a_first': 'CREATE TABLE thing (id int PRIMARY KEY);',
    });
    expect(await migrateDatabase(db.url, dir, silent)).toEqual(['20250101000000_a_first', '20260101000000_b_second']);

    await mkdir(join(dir, '20270101000000_c_third'));
    await writeFile(join(dir, '20270101000000_c_third', 'migration.sql'), "INSERT INTO thing VALUES (1, 'one');");
    expect(await migrateDatabase(db.url, dir, silent)).toEqual(['20270101000000_c_third']);
    expect((await sql.query('SELECT * FROM thing')).rows).toEqual([{ id: 1, label: 'one' }]);
    expect((await migrationRows()).map((r) => r.migration_name)).toEqual([
      '20250101000000_a_first',
      '20260101000000_b_second',
      '20270101000000_c_third',
    ]);
  });

  it('rolls back a failing migration, records the failure and refuses later runs until it is resolved', async () => {
    const dir = await migrationsDir({
      '001_ok': 'CREATE TABLE ok_table (id int PRIMARY KEY);',
      // The first statement succeeds; the second fails, so the whole script must be undone.
      '002_broken': 'CREATE TABLE half_table (id int);\nINSERT INTO no_such_table VALUES (1);',
      '003_later': 'CREATE TABLE later_table (id int);',
    });

    const err = await migrateDatabase(db.url, dir, silent).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('migration 002_broken failed');
    expect(((err as Error).cause as { code?: string }).code).toBe('42P01'); // undefined_table

    expect(await tableExists('ok_table')).toBe(true);
    expect(await tableExists('half_table')).toBe(false);
    expect(await tableExists('later_table')).toBe(false);
    const rows = await migrationRows();
    expect(rows.map((r) => [r.migration_name, r.finished_at !== null, r.applied_steps_count])).toEqual([
      ['001_ok', true, 1],
      ['002_broken', false, 0],
    ]);
    expect(rows[1].logs).toContain('no_such_table');
    expect(rows[1].rolled_back_at).toBeNull();

    // Later runs stop at the failed record, with a message naming it, and apply nothing.
    await expect(migrateDatabase(db.url, dir, silent)).rejects.toThrow(
      'migration 002_broken failed earlier; resolve it before migrating again',
    );
    expect(await tableExists('later_table')).toBe(false);
    expect(await migrationRows()).toEqual(rows);

    // `prisma migrate resolve --rolled-back` marks it rolled back; a fixed script is then applied again.
    await sql.query(`UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '002_broken'`);
    await writeFile(join(dir, '002_broken', 'migration.sql'), 'CREATE TABLE half_table (id int);');
    expect(await migrateDatabase(db.url, dir, silent)).toEqual(['002_broken', '003_later']);
    expect(await tableExists('half_table')).toBe(true);
    expect(await tableExists('later_table')).toBe(true);
  });

  it('releases the advisory lock after a failure', async () => {
    const dir = await migrationsDir({ '001_broken': 'SELECT 1/0;' });
    await expect(migrateDatabase(db.url, dir, silent)).rejects.toThrow('migration 001_broken failed');
    const client = await sql.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [PRISMA_LOCK_KEY]);
      expect(rows[0].locked).toBe(true);
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_LOCK_KEY]);
    } finally {
      client.release();
    }
  });

  it('only warns when an applied migration was modified, and applies nothing again', async () => {
    const dir = await migrationsDir({ '001_counter': 'CREATE TABLE counter (n int); INSERT INTO counter VALUES (1);' });
    await migrateDatabase(db.url, dir, silent);
    const before = await migrationRows();

    await writeFile(join(dir, '001_counter', 'migration.sql'), 'CREATE TABLE counter (n int); INSERT INTO counter VALUES (2);');
    const { log, records } = capturingLogger();
    expect(await migrateDatabase(db.url, dir, log)).toEqual([]);

    const warnings = records.filter((r) => r.level === 40);
    expect(warnings).toEqual([expect.objectContaining({ migration: '001_counter', msg: 'applied migration was modified since' })]);
    expect(await migrationRows()).toEqual(before);
    expect((await sql.query('SELECT n FROM counter')).rows).toEqual([{ n: 1 }]);
  });
});

describe('migrateDatabase with a no-transaction migration', () => {
  const indexState = async (name: string) =>
    (await sql.query<{ valid: boolean }>('SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)', [`public.${name}`])).rows[0];
  const table = 'CREATE TABLE thing (id int PRIMARY KEY, label text); INSERT INTO thing SELECT g, g::text FROM generate_series(1, 1000) g;';
  const concurrentIndexes = [
    NO_TRANSACTION_MARKER,
    '-- Built without blocking writes; a semicolon in a comment; does not split.',
    'CREATE INDEX CONCURRENTLY thing_label_idx ON thing (label);',
    "CREATE INDEX CONCURRENTLY thing_odd_label_idx ON thing (label) WHERE label LIKE '%;%';",
    '',
  ].join('\n');

  it('reads the marker on the first line only', async () => {
    const dir = await migrationsDir({ '001_marked': `${NO_TRANSACTION_MARKER}\nSELECT 1;`, '002_later_line': `SELECT 1;\n${NO_TRANSACTION_MARKER}\n` });
    expect((await readMigrations(dir)).map((m) => [m.name, m.transactional])).toEqual([
      ['001_marked', false],
      ['002_later_line', true],
    ]);
  });

  it('applies CREATE INDEX CONCURRENTLY statement by statement and records it as any other migration', async () => {
    const dir = await migrationsDir({ '001_table': table, '002_concurrent_indexes': concurrentIndexes });
    expect(await migrateDatabase(db.url, dir, silent)).toEqual(['001_table', '002_concurrent_indexes']);

    expect(await indexState('thing_label_idx')).toEqual({ valid: true });
    expect(await indexState('thing_odd_label_idx')).toEqual({ valid: true });
    const rows = await migrationRows();
    expect(rows[1]).toMatchObject({
      migration_name: '002_concurrent_indexes',
      checksum: createHash('sha256').update(concurrentIndexes).digest('hex'),
      finished_at: expect.any(Date),
      applied_steps_count: 1,
      logs: null,
      rolled_back_at: null,
    });
    expect(rows[1].finished_at!.getTime()).toBeGreaterThanOrEqual(rows[1].started_at.getTime());
    expect(await migrateDatabase(db.url, dir, silent)).toEqual([]);
  });

  it('still runs an unmarked migration atomically: CREATE INDEX CONCURRENTLY in it fails and nothing of it stays', async () => {
    const dir = await migrationsDir({
      '001_table': table,
      '002_unmarked': 'CREATE TABLE other (id int);\nCREATE INDEX CONCURRENTLY thing_label_idx ON thing (label);',
    });
    const err = await migrateDatabase(db.url, dir, silent).catch((e: unknown) => e);
    expect((err as Error).message).toBe('migration 002_unmarked failed');
    expect(((err as Error).cause as { code?: string }).code).toBe('25001'); // active_sql_transaction
    expect(await tableExists('other')).toBe(false);
    expect(await indexState('thing_label_idx')).toBeUndefined();
    expect((await migrationRows()).map((r) => [r.migration_name, r.finished_at !== null])).toEqual([
      ['001_table', true],
      ['002_unmarked', false],
    ]);
  });

  it('keeps what ran before a failing statement, records the failure with how far it got, and refuses later runs until resolved', async () => {
    const dir = await migrationsDir({
      '001_table': table,
      '002_half': `${NO_TRANSACTION_MARKER}\nCREATE INDEX CONCURRENTLY thing_label_idx ON thing (label);\nCREATE INDEX CONCURRENTLY nope_idx ON no_such_table (x);\nCREATE TABLE never (id int);\n`,
      '003_later': 'CREATE TABLE later_table (id int);',
    });
    const err = await migrateDatabase(db.url, dir, silent).catch((e: unknown) => e);
    expect((err as Error).message).toBe('migration 002_half failed');
    expect(await indexState('thing_label_idx')).toEqual({ valid: true });
    expect(await tableExists('never')).toBe(false);
    expect(await tableExists('later_table')).toBe(false);
    const rows = await migrationRows();
    expect(rows[1]).toMatchObject({ migration_name: '002_half', finished_at: null, applied_steps_count: 0, rolled_back_at: null });
    expect(rows[1].logs).toMatch(/statement 2 of 3 failed \(statements 1 to 1 stay applied, no transaction\).*no_such_table/);

    await expect(migrateDatabase(db.url, dir, silent)).rejects.toThrow('migration 002_half failed earlier; resolve it before migrating again');

    // Resolved as docs/operations.md says: undo what stayed, mark it rolled back, fix the script, run again.
    await sql.query('DROP INDEX CONCURRENTLY thing_label_idx');
    await sql.query(`UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '002_half'`);
    await writeFile(join(dir, '002_half', 'migration.sql'), `${NO_TRANSACTION_MARKER}\nCREATE INDEX CONCURRENTLY thing_label_idx ON thing (label);\n`);
    expect(await migrateDatabase(db.url, dir, silent)).toEqual(['002_half', '003_later']);
    expect(await indexState('thing_label_idx')).toEqual({ valid: true });
  });

  it('builds the index while other runners wait for the lock, without deadlocking with them', async () => {
    // The waiting runners' lock requests are older than the index build,
    // which waits for every older snapshot (lockMigrations explains).
    const dir = await migrationsDir({ '001_table': table, '002_concurrent_indexes': concurrentIndexes });
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [PRISMA_LOCK_KEY]);
      const runners = Promise.all(Array.from({ length: 3 }, () => migrateDatabase(db.url, dir, silent)));
      runners.catch(() => undefined);
      await pollUntil('three runners waiting on the advisory lock', async () => {
        const { rows } = await holder.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        return rows[0].n === 3 ? true : undefined;
      });
      await holder.query('SELECT pg_advisory_unlock($1)', [PRISMA_LOCK_KEY]);

      const results = await runners;
      expect(results.flat().sort()).toEqual(['001_table', '002_concurrent_indexes']);
      expect(await indexState('thing_label_idx')).toEqual({ valid: true });
      expect((await migrationRows()).map((r) => [r.migration_name, r.applied_steps_count])).toEqual([
        ['001_table', 1],
        ['002_concurrent_indexes', 1],
      ]);
    } finally {
      await holder.end();
    }
  });
});
