import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { splitSqlStatements } from './sql-statements';

// Applies Prisma-format migrations (migrations/<name>/migration.sql) without
// Prisma's schema engine, which these machines cannot download. Each one is
// recorded in _prisma_migrations exactly as `prisma migrate deploy` records
// it, so either tool sees the other's work as applied.
//
// A migration runs in one transaction, unless its first line is the marker
// NO_TRANSACTION_MARKER: then its statements run one by one, each committing
// on its own, as CREATE INDEX CONCURRENTLY requires. To Prisma the marker is
// a comment. See docs/operations.md, "Migrations".

/** The key `prisma migrate` itself locks, so our runner and Prisma's exclude each other. */
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

/** The first line of a migration.sql whose statements run one by one, outside a transaction. */
export const NO_TRANSACTION_MARKER = '-- carebook:no-transaction';

/**
 * How long one wait for the migration lock lasts before it is asked again:
 * well under deadlock_timeout (1 s by default). See lockMigrations.
 */
const LOCK_WAIT_MS = 200;
// How long a runner waits for the migration lock before it says who holds it.
const LOCK_WAIT_REPORT_MS = 5_000;

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "_prisma_migrations_pkey" PRIMARY KEY ("id")
)`;

interface AppliedMigration {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** A migration folder's name and script, with Prisma's checksum (sha256 hex of the file). */
export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
  /** False when the script starts with NO_TRANSACTION_MARKER. */
  transactional: boolean;
}

/** Whether the script's first line is NO_TRANSACTION_MARKER (after a byte-order mark, before trailing blanks). */
export function isTransactional(sql: string): boolean {
  const firstLine = sql.replace(/^\uFEFF/, '').split('\n', 1)[0].trimEnd();
  return firstLine !== NO_TRANSACTION_MARKER;
}

/** Reads migrations/<name>/migration.sql in name order, as Prisma does. */
export async function readMigrations(migrationsDir: string): Promise<MigrationFile[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(migrationsDir, name, 'migration.sql'));
      const sql = bytes.toString('utf8');
      return { name, sql, checksum: createHash('sha256').update(bytes).digest('hex'), transactional: isTransactional(sql) };
    }),
  );
}

/**
 * Applies every migration not yet recorded, under Prisma's advisory lock so
 * that replicas starting together migrate once. Returns the names applied.
 * A migration that failed earlier stops the run, as it stops Prisma (P3009).
 */
export async function migrateDatabase(databaseUrl: string, migrationsDir: string, log: Logger): Promise<string[]> {
  const migrations = await readMigrations(migrationsDir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await lockMigrations(client, log);
    await client.query(CREATE_MIGRATIONS_TABLE);
    const { rows } = await client.query<AppliedMigration>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
    );
    const applied = new Map(rows.map((r) => [r.migration_name, r]));
    const failed = rows.find((r) => r.finished_at === null);
    if (failed) throw new Error(`migration ${failed.migration_name} failed earlier; resolve it before migrating again`);

    const newlyApplied: string[] = [];
    for (const migration of migrations) {
      const previous = applied.get(migration.name);
      if (previous) {
        if (previous.checksum !== migration.checksum) log.warn({ migration: migration.name }, 'applied migration was modified since');
        continue;
      }
      await applyMigration(client, migration);
      log.info({ migration: migration.name }, 'migration applied');
      newlyApplied.push(migration.name);
    }
    return newlyApplied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

/**
 * Takes Prisma's migration lock, waiting for it in turns of LOCK_WAIT_MS.
 * A runner blocked in one long pg_advisory_lock() holds a snapshot, and
 * CREATE INDEX CONCURRENTLY in the lock holder's no-transaction migration
 * waits for every older snapshot to end: each would wait for the other
 * until the deadlock detector aborted one. Short waits end that snapshot
 * several times a second, so the index build only waits for the current one.
 */
async function lockMigrations(client: pg.Client, log: Logger): Promise<void> {
  await client.query(`SET lock_timeout = '${LOCK_WAIT_MS}ms'`);
  const started = performance.now();
  let told = false;
  for (;;) {
    try {
      await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== '55P03') throw err; // lock_not_available: wait another turn
      // Another runner migrates, or a stuck session holds the lock: say who, once, so a replica
      // that stays NOT_SERVING is explained.
      if (!told && performance.now() - started > LOCK_WAIT_REPORT_MS) {
        told = true;
        const { rows } = await client.query<{ pid: number }>(
          `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = $1`,
          [PRISMA_MIGRATE_LOCK_KEY],
        );
        log.warn({ holderPids: rows.map((r) => r.pid), waitedMs: Math.round(performance.now() - started) }, 'waiting for the migration lock');
      }
    }
  }
  await client.query('RESET lock_timeout');
}

/**
 * Runs the script and records it as Prisma does: started_at when it starts,
 * finished_at and applied_steps_count = 1 when it succeeded; on failure the
 * error in logs and finished_at left null, which stops later runs until the
 * record is resolved.
 */
async function applyMigration(client: pg.Client, migration: MigrationFile): Promise<void> {
  const id = randomUUID();
  await client.query('INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())', [
    id,
    migration.checksum,
    migration.name,
  ]);
  try {
    await (migration.transactional ? runInTransaction(client, migration.sql) : runStatementByStatement(client, migration.sql));
  } catch (err) {
    await client.query('UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1', [id, String(err)]);
    throw new Error(`migration ${migration.name} failed`, { cause: err });
  }
  await client.query('UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [id]);
}

/**
 * Unlike Prisma we run the script in a transaction, so a failed migration
 * leaves no half-applied schema behind, only its failed record.
 */
async function runInTransaction(client: pg.Client, sql: string): Promise<void> {
  try {
    await client.query('BEGIN');
    await client.query(sql);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

/**
 * A no-transaction migration: each statement on its own, committed as it
 * succeeds (one statement per simple query, so none is wrapped in an
 * implicit transaction). A failure leaves the statements before it applied;
 * the error says how far it got.
 */
async function runStatementByStatement(client: pg.Client, sql: string): Promise<void> {
  const statements = splitSqlStatements(sql);
  for (const [index, statement] of statements.entries()) {
    try {
      await client.query(statement);
    } catch (err) {
      const done = index === 0 ? 'none before it' : `statements 1 to ${index} stay applied`;
      throw new Error(`statement ${index + 1} of ${statements.length} failed (${done}, no transaction): ${String(err)}`, { cause: err });
    }
  }
}
