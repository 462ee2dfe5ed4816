import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { createLogger, migrateDatabase, startEmbeddedPostgres } from '@carebook/server';
import { adminUrl, SERVICES, templateName } from './databases';
import { freePort } from './ports';

const root = fileURLToPath(new URL('../../..', import.meta.url));

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a database on the test server with rights to CREATE DATABASE. */
    databaseAdminUrl: string;
  }
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
