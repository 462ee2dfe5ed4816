import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

// What the global setup (global-setup.ts) provides to every test file.
declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a database on the test server with rights to CREATE DATABASE. */
    databaseAdminUrl: string;
  }
}

/** Services whose schema the harness migrates into a template database. */
export const SERVICES = ['catalog', 'booking', 'notifications'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const templateName = (service: ServiceName) => `carebook_${service}_template`;

/** The URL of `database` on the same server as `url`. */
export function adminUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A fresh database of `service`'s migrated schema, cloned from the template; dropped by `drop()`. */
export async function createTestDatabase(service: ServiceName): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const admin = inject('databaseAdminUrl');
  const name = `test_${service}_${randomBytes(6).toString('hex')}`;
  await withAdmin(admin, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${templateName(service)}`));
  return {
    name,
    url: adminUrl(admin, name),
    drop: () => withAdmin(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** A fresh, empty database (no schema, no migrations) on the test server; dropped by `drop()`. */
export async function createEmptyDatabase(prefix = 'test_empty'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const admin = inject('databaseAdminUrl');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withAdmin(admin, (c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: adminUrl(admin, name),
    drop: () => withAdmin(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A pool of a test's own, to read and check a database directly. Test files
 * drop their databases WITH (FORCE) at the end, which terminates connections
 * the pool may still be closing; that 'error' event on an idle connection is
 * expected there, and without a listener it would be an uncaught exception
 * that fails the whole run.
 */
export function inspectionPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => {});
  return pool;
}
