import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { createLogger } from '@carebook/server';
import { startEmbeddedPostgres, type EmbeddedDatabaseServer } from '@carebook/server/embedded-postgres';
import { freePort } from '../libs/testing/src/ports';
import { say } from './progress';

/** The PostgreSQL server the benchmark runs on. */
export interface BenchServer {
  /** URL of `database` on this server. */
  url(database: string): string;
  /** True when the harness started an embedded PostgreSQL itself. */
  embedded: boolean;
  /** The postmaster's pid, when known (embedded only), for CPU accounting. */
  postgresPid?: number;
  /** server_version, e.g. "18.0". */
  version: string;
  versionNum: number;
  /** Whether pg_stat_statements is loaded (shared_preload_libraries). */
  statStatements: boolean;
  /** The settings that matter for the figures, as the server reports them. */
  settings: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Settings applied to the embedded PostgreSQL with ALTER SYSTEM (persisted
 * in its data directory). Durability stays on (fsync, synchronous_commit):
 * booking figures include real commits. shared_buffers holds the whole
 * default data set (about 2.8 GB with indexes; prewarmed before measuring),
 * so figures are of the steady state, not of first reads; WAL is sized for
 * a bulk load of millions of rows.
 */
export const BENCH_PG_SETTINGS: Record<string, string> = {
  shared_buffers: '4GB',
  effective_cache_size: '8GB',
  work_mem: '16MB',
  maintenance_work_mem: '1GB',
  max_wal_size: '8GB',
  checkpoint_timeout: '30min',
  random_page_cost: '1.1',
  max_parallel_maintenance_workers: '2',
  track_io_timing: 'on',
  shared_preload_libraries: 'pg_stat_statements',
};

const REPORTED_SETTINGS = [
  'shared_buffers',
  'effective_cache_size',
  'work_mem',
  'maintenance_work_mem',
  'max_wal_size',
  'checkpoint_timeout',
  'random_page_cost',
  'fsync',
  'synchronous_commit',
  'full_page_writes',
  'max_connections',
  'jit',
];

/** Runs `fn` with one connection to `url`. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The URL of `database` on the server of `url`. */
export function databaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function describe(adminUrl: string) {
  return withClient(adminUrl, async (c) => {
    const { rows } = await c.query<{ name: string; setting: string; unit: string | null }>(
      `SELECT name, current_setting(name) AS setting, unit FROM pg_settings WHERE name = ANY($1) OR name IN ('server_version', 'server_version_num', 'shared_preload_libraries')`,
      [REPORTED_SETTINGS],
    );
    const all = Object.fromEntries(rows.map((r) => [r.name, r.setting]));
    const settings = Object.fromEntries(REPORTED_SETTINGS.filter((n) => n in all).map((n) => [n, all[n]]));
    return {
      version: all.server_version,
      versionNum: Number(all.server_version_num),
      statStatements: (all.shared_preload_libraries ?? '').includes('pg_stat_statements'),
      settings,
    };
  });
}

/** Applies `wanted` with ALTER SYSTEM; returns the settings that wait for a restart. */
async function applySettings(adminUrl: string, wanted: Record<string, string>): Promise<string[]> {
  return withClient(adminUrl, async (c) => {
    for (const [name, value] of Object.entries(wanted)) {
      await c.query(`ALTER SYSTEM SET ${pg.escapeIdentifier(name)} = ${pg.escapeLiteral(value)}`);
    }
    await c.query('SELECT pg_reload_conf()');
    // Only ours: max_connections, set on embedded-postgres's command line,
    // reads as pending against the config file's value after every reload.
    const { rows } = await c.query<{ name: string }>('SELECT name FROM pg_settings WHERE pending_restart AND name = ANY($1)', [Object.keys(wanted)]);
    return rows.map((r) => r.name);
  });
}

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    return Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The server to benchmark on: the one at `serverUrl` (any database on a
 * server where this role may CREATE DATABASE), or else an embedded
 * PostgreSQL in `dataDir`, tuned with BENCH_PG_SETTINGS (restarted once if a
 * setting needs it). An existing data directory is reused with its data.
 */
export async function openBenchServer(options: { serverUrl?: string; dataDir: string; tune: boolean; quiet: boolean }): Promise<BenchServer> {
  if (options.serverUrl) {
    const serverUrl = options.serverUrl;
    const facts = await describe(serverUrl);
    return { url: (db) => databaseUrl(serverUrl, db), embedded: false, ...facts, stop: async () => {} };
  }
  const dataDir = resolve(options.dataDir, 'postgres');
  const log = createLogger('bench-postgres', 'warn');
  const port = await freePort();
  say(options.quiet, `starting embedded PostgreSQL in ${dataDir} on port ${port}`);
  let server: EmbeddedDatabaseServer = await startEmbeddedPostgres({ dataDir, port, log });
  const adminUrl = server.url('postgres');
  const pending = options.tune ? await applySettings(adminUrl, BENCH_PG_SETTINGS) : [];
  if (pending.length) {
    say(options.quiet, `restarting PostgreSQL to apply ${pending.join(', ')}`);
    await server.stop();
    server = await startEmbeddedPostgres({ dataDir, port, log });
  }
  const facts = await describe(adminUrl);
  const current = server;
  return { url: server.url, embedded: true, postgresPid: await postmasterPid(dataDir), ...facts, stop: () => current.stop() };
}

/** Whether `database` exists on the server of `adminUrl`. */
export async function databaseExists(adminUrl: string, database: string): Promise<boolean> {
  return withClient(adminUrl, async (c) => ((await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount ?? 0) > 0);
}

/** Drops `database` if it exists, ending its connections. */
export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`));
}

/** Creates `database`, empty or as a copy of `template` (a file copy where the server supports it: fastest for large databases). */
export async function createDatabase(adminUrl: string, database: string, template?: string, versionNum = 0): Promise<void> {
  const from = template ? ` TEMPLATE ${pg.escapeIdentifier(template)}${versionNum >= 150000 ? ' STRATEGY = FILE_COPY' : ''}` : '';
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}${from}`));
}

/** The comment stored on `database` (the harness keeps a seeded template's description there). */
export async function databaseComment(adminUrl: string, database: string): Promise<string | undefined> {
  return withClient(adminUrl, async (c) => {
    const { rows } = await c.query<{ comment: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [database],
    );
    return rows[0]?.comment ?? undefined;
  });
}

/** Stores `comment` on `database`. */
export async function setDatabaseComment(adminUrl: string, database: string, comment: string): Promise<void> {
  await withClient(adminUrl, (c) => c.query(`COMMENT ON DATABASE ${pg.escapeIdentifier(database)} IS ${pg.escapeLiteral(comment)}`));
}

/** Loads every table and index of `database` into shared buffers (pg_prewarm), if the server has the extension; returns false if not. */
export async function prewarm(url: string): Promise<boolean> {
  return withClient(url, async (c) => {
    try {
      await c.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
    } catch {
      return false;
    }
    await c.query(`SELECT sum(pg_prewarm(oid)) FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'i')`);
    return true;
  });
}
