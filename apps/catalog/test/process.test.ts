import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createCatalogClient } from '@carebook/proto/catalog';
import { createEmptyDatabase, createHealthClient, freePort, pollUntil, TEST_SECRETS_ENV } from '@carebook/testing';
import { CATALOG_SERVICE_NAME } from '../src/server';

// The catalog as it runs in production: its own OS process, started by tsx
// from main.ts, configured only through the environment.

const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsx = `${root}node_modules/.bin/tsx`;
/** Every migration folder, in the order they apply: a fresh database gets them all. */
const MIGRATIONS = readdirSync(`${root}prisma/catalog/migrations`, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

interface CatalogProcess {
  child: ChildProcess;
  address: string;
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
}

const running: CatalogProcess[] = [];
const databases: { drop(): Promise<void> }[] = [];

afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
  }
  for (const db of databases.splice(0)) await db.drop();
});

/** Spawns `tsx apps/catalog/src/main.ts` with exactly `env` (plus PATH, HOME and, unless `secrets` is false, the test secrets). */
function spawnCatalog(env: Record<string, string>, secrets = true): CatalogProcess {
  const child = spawn(tsx, ['apps/catalog/src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CATALOG_METRICS_PORT: '0', ...(secrets ? TEST_SECRETS_ENV : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const p: CatalogProcess = { child, address: `127.0.0.1:${env.CATALOG_PORT}`, exited, stdout: () => stdout, stderr: () => stderr };
  running.push(p);
  return p;
}

/** Polls Health/Check until SERVING; fails early, with the process's output, if it exits first. */
async function untilServing(p: CatalogProcess, timeoutMs = 90_000): Promise<void> {
  const health = createHealthClient(p.address);
  let exitCode: number | null | undefined;
  void p.exited.then((code) => (exitCode = code));
  try {
    await pollUntil(
      `catalog at ${p.address} SERVING`,
      async () => {
        if (exitCode !== undefined) throw new Error(`catalog exited with ${exitCode} before serving:\n${p.stderr()}\n${p.stdout()}`);
        return (await health.check('', 1_000)) === 'SERVING' ? true : undefined;
      },
      timeoutMs,
      100,
    ).catch((err: Error) => {
      if (exitCode !== undefined) throw new Error(`catalog exited with ${exitCode} before serving:\n${p.stderr()}\n${p.stdout()}`);
      throw err;
    });
    expect(await health.check(CATALOG_SERVICE_NAME)).toBe('SERVING');
  } finally {
    health.close();
  }
}

async function migrationNames(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ migration_name: string }>(
      'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL ORDER BY migration_name',
    );
    return rows.map((r) => r.migration_name);
  } finally {
    await client.end();
  }
}

/** Log lines of pino JSON output. */
const logLines = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string; migration?: string; level: number });

// Each test boots tsx and the whole service, which is slow on a loaded machine.
describe('catalog process', { timeout: 180_000 }, () => {
  it('migrates an empty database, serves, and exits 0 on SIGTERM', async () => {
    const db = await createEmptyDatabase('test_catalog_process');
    databases.push(db);
    const port = await freePort();
    const p = spawnCatalog({ CATALOG_DATABASE_URL: db.url, CATALOG_PORT: String(port), LOG_LEVEL: 'info' });

    await untilServing(p);
    expect(await migrationNames(db.url)).toEqual(MIGRATIONS);
    expect(logLines(p.stdout()).filter((l) => l.msg === 'migration applied').map((l) => l.migration)).toEqual(MIGRATIONS);

    const client = createCatalogClient(p.address);
    try {
      const { clinic } = await client.createClinic({ clinic: { id: '', displayName: 'Process Clinic', timeZone: 'UTC', address: 'x' } });
      expect(clinic?.displayName).toBe('Process Clinic');
    } finally {
      client.close();
    }

    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const messages = logLines(p.stdout()).map((l) => l.msg);
    expect(messages).toContain('shutting down');
    expect(messages).toContain('grpc server stopped');
    expect(p.stderr()).toBe('');
  });

  it('lets two replicas start together on one empty database: each migration runs once', async () => {
    const db = await createEmptyDatabase('test_catalog_replicas');
    databases.push(db);
    const replicas = await Promise.all(
      [await freePort(), await freePort()].map((port) =>
        spawnCatalog({ CATALOG_DATABASE_URL: db.url, CATALOG_PORT: String(port), LOG_LEVEL: 'info' }),
      ),
    );
    await Promise.all(replicas.map((p) => untilServing(p)));

    expect(await migrationNames(db.url)).toEqual(MIGRATIONS);
    const applied = replicas.flatMap((p) => logLines(p.stdout()).filter((l) => l.msg === 'migration applied'));
    // Each migration applied by one replica only.
    expect(applied.map((l) => l.migration).sort()).toEqual(MIGRATIONS);

    for (const p of replicas) p.child.kill('SIGTERM');
    expect(await Promise.all(replicas.map((p) => p.exited))).toEqual([0, 0]);
  });

  it('refuses bad configuration with one message naming every bad variable', async () => {
    const p = spawnCatalog({ CATALOG_PORT: 'abc', CATALOG_DB_POOL_SIZE: '0', CATALOG_INTERNAL_TOKEN: 'guessable' }, false);
    const code = await p.exited;
    expect(code).not.toBe(0);
    expect(code).toBe(2);
    const stderr = p.stderr();
    expect(stderr.match(/invalid configuration/g)).toHaveLength(1);
    expect(stderr).toContain('CATALOG_PORT must be an integer from 0 to 65535, got "abc"');
    expect(stderr).toContain('CATALOG_DATABASE_URL is required');
    expect(stderr).toContain('CATALOG_DB_POOL_SIZE must be an integer from 1 to 500, got "0"');
    expect(stderr).toContain('CATALOG_INTERNAL_TOKEN must hold keys of at least 32 characters each');
    expect(stderr).toContain('CAREBOOK_PAGE_TOKEN_KEY is required');
    expect(stderr).not.toContain('guessable');
    expect(stderr.trim().split('\n')).toHaveLength(6); // the header and one line per variable
    expect(p.stdout()).toBe('');
  });

  it('exits non-zero when the database cannot be reached at start-up', async () => {
    const deadPort = await freePort();
    const p = spawnCatalog({
      CATALOG_DATABASE_URL: `postgresql://postgres:postgres@127.0.0.1:${deadPort}/catalog`,
      CATALOG_PORT: String(await freePort()),
    });
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toContain('catalog: failed to start');
    expect(p.stderr()).toContain('ECONNREFUSED');
  });
});
