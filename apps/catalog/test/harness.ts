import pg from 'pg';
import { createCatalogClient, type CatalogClient } from '@carebook/proto/catalog';
import { createLogger } from '@carebook/server';
import { createTestDatabase } from '@carebook/testing';
import { createCatalogPrisma, type CatalogPrisma } from '../src/db';
import { startCatalogServer } from '../src/server';

/** A catalog server on its own database and a random port, with a client and a SQL pool for assertions. */
export interface CatalogUnderTest {
  address: string;
  client: CatalogClient;
  prisma: CatalogPrisma;
  /** Direct SQL, to check what was (not) written. */
  sql: pg.Pool;
  databaseUrl: string;
  close(): Promise<void>;
}

/** Starts catalog over a fresh database cloned from the migrated template. */
export async function startCatalogUnderTest(): Promise<CatalogUnderTest> {
  const db = await createTestDatabase('catalog');
  const prisma = createCatalogPrisma(db.url, 20);
  const log = createLogger('catalog', process.env.TEST_LOG_LEVEL ?? 'silent');
  const server = await startCatalogServer({ prisma, log }, { host: '127.0.0.1', port: 0, shutdownGraceMs: 2000 });
  const address = `127.0.0.1:${server.port}`;
  const client = createCatalogClient(address);
  const sql = new pg.Pool({ connectionString: db.url, max: 4 });
  return {
    address,
    client,
    prisma,
    sql,
    databaseUrl: db.url,
    async close() {
      client.close();
      await server.shutdown();
      await prisma.$disconnect();
      await sql.end();
      await db.drop();
    },
  };
}

/** Row counts of the catalog tables, to prove a refused call wrote nothing. */
export async function countRows(sql: pg.Pool): Promise<{ clinics: number; doctors: number; slots: number; booked: number }> {
  const { rows } = await sql.query(`SELECT
    (SELECT count(*) FROM clinic)::int AS clinics,
    (SELECT count(*) FROM doctor)::int AS doctors,
    (SELECT count(*) FROM slot)::int AS slots,
    (SELECT count(*) FROM slot WHERE status = 'booked')::int AS booked`);
  return rows[0];
}

const HOUR = 3_600_000;

/** A time `hours` from now, rounded to the hour so slots line up. */
export function hoursFromNow(hours: number): Date {
  return new Date(Math.ceil(Date.now() / HOUR) * HOUR + hours * HOUR);
}

/** `count` back-to-back slots of `minutes` each, starting at `start`. */
export function consecutiveSlots(start: Date, count: number, minutes = 20): { startTime: Date; endTime: Date }[] {
  return Array.from({ length: count }, (_, i) => ({
    startTime: new Date(+start + i * minutes * 60_000),
    endTime: new Date(+start + (i + 1) * minutes * 60_000),
  }));
}
