import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

/** What the services need of their generated Prisma Client class. */
type PrismaClientClass<T> = new (options: { adapter: PrismaPg; transactionOptions: { maxWait: number; timeout: number } }) => T;

export interface PoolSettings {
  poolSize: number;
  /** Upper bound of any one statement, so a stuck query cannot pin a connection. */
  statementTimeoutMs?: number;
  /** How long a query may wait for a free connection before it fails. */
  connectionTimeoutMs?: number;
  /**
   * Commits return before their WAL is flushed (synchronous_commit off): a
   * PostgreSQL crash may lose the last fraction of a second of them, never
   * leaving them half done. Only for a database whose every commit is
   * replayed or repeated when lost.
   */
  relaxedCommit?: boolean;
}

const DEFAULT_STATEMENT_TIMEOUT_MS = 5_000;
const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;

/** A service's database: its Prisma Client, and the pg pool under it for prepared statements (prepared-statements.ts). */
export interface ServiceDatabase<T> {
  prisma: T;
  sql: pg.Pool;
}

/** A service's Prisma Client over a pg pool (Prisma 7 driver adapter; no query engine binary), and that pool. */
export function createServiceDatabase<T>(Client: PrismaClientClass<T>, databaseUrl: string, settings: PoolSettings): ServiceDatabase<T> {
  const statementTimeout = settings.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const connectionTimeout = settings.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS;
  const sql = new pg.Pool({
    connectionString: databaseUrl,
    max: settings.poolSize,
    connectionTimeoutMillis: connectionTimeout,
    // TimeZone=UTC: the pg adapter writes timestamps without an offset and
    // reads every timestamptz as if it were UTC (prisma/orm#26786), so any
    // other session time zone shifts times by its offset.
    options: `-c statement_timeout=${statementTimeout} -c TimeZone=UTC${settings.relaxedCommit ? ' -c synchronous_commit=off' : ''}`,
  });
  // An idle connection that the server closes (a restart, an admin's
  // pg_terminate_backend) is an 'error' event on the pool, which would crash
  // the process unheard. The pool has already dropped that connection; the
  // next query that needs the database reports any lasting outage.
  sql.on('error', () => {});
  const prisma = new Client({
    // Prisma's own defaults (2 s to get a connection for a transaction, 5 s
    // for all of it) failed transactions under load that the pool would have
    // served: a transaction waits for a connection as long as a query does.
    transactionOptions: { maxWait: connectionTimeout, timeout: connectionTimeout + statementTimeout },
    // The pool is ended with the client ($disconnect).
    adapter: new PrismaPg(sql, { disposeExternalPool: true }),
  });
  return { prisma, sql };
}

/** Resolves when the database behind `prisma` answers a trivial query. */
export async function pingDatabase(prisma: { $executeRawUnsafe(query: string): Promise<number> }): Promise<void> {
  await prisma.$executeRawUnsafe('SELECT 1');
}
