// PostgreSQL errors, recognised in one place by SQLSTATE and constraint name,
// whether they arrive from `pg` directly or wrapped by Prisma's pg adapter.

/** SQLSTATE codes the services act on. */
export const SqlState = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  exclusionViolation: '23P01',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
} as const;

/** The parts of a PostgreSQL error the services use. */
export interface PostgresError {
  code: string;
  constraint: string | undefined;
  message: string;
  detail: string | undefined;
}

interface AdapterCause {
  kind?: string;
  originalCode?: string;
  originalMessage?: string;
  detail?: string;
  constraint?: { index?: string };
}

/** The PostgreSQL error behind `err` (a pg DatabaseError or a Prisma error), or undefined. */
export function postgresErrorOf(err: unknown): PostgresError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const cause = (err as { meta?: { driverAdapterError?: { cause?: AdapterCause } } }).meta?.driverAdapterError?.cause;
  // The adapter keeps the SQLSTATE in originalCode for every PostgreSQL
  // error, but only unmapped codes have kind 'postgres': 23505, 23503, 40001
  // and 40P01 arrive as UniqueConstraintViolation, TransactionWriteConflict….
  if (cause?.originalCode) {
    const message = cause.originalMessage ?? '';
    const constraint = /constraint "([^"]+)"/.exec(message)?.[1] ?? cause.constraint?.index;
    return { code: cause.originalCode, constraint, message, detail: cause.detail };
  }
  const pgError = err as { code?: unknown; constraint?: string; message?: string; detail?: string; severity?: string };
  if (typeof pgError.code === 'string' && /^[0-9A-Z]{5}$/.test(pgError.code) && pgError.severity) {
    return { code: pgError.code, constraint: pgError.constraint, message: pgError.message ?? '', detail: pgError.detail };
  }
  return undefined;
}

/** True when `err` is the violation of the named constraint. */
export function violates(err: unknown, constraint: string): boolean {
  return postgresErrorOf(err)?.constraint === constraint;
}

/** True for errors a transaction may be retried after: serialization failures and deadlocks. */
export function isRetryableTransactionError(err: unknown): boolean {
  const code = postgresErrorOf(err)?.code;
  return code === SqlState.serializationFailure || code === SqlState.deadlockDetected;
}

/**
 * Runs `attempt`, running it again after a serialization failure or deadlock
 * (up to `attempts` times in all, with jittered exponential backoff).
 * `attempt` must be a whole transaction or a single statement.
 */
export async function retryOnTransactionConflict<T>(attempt: () => Promise<T>, attempts = 5, baseDelayMs = 10): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= attempts || !isRetryableTransactionError(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, baseDelayMs * 2 ** (n - 1) * (0.5 + Math.random())));
    }
  }
}

// What a database that is down, restarting, overloaded or cut off looks like,
// from pg, its pool and Prisma's pg adapter. All of it is worth a retry.
const UNREACHABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
  '53300', // too_many_connections
]);
const UNAVAILABLE_ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
// P1001 unreachable, P1002 timed out, P1017 connection closed, P2024 no pooled
// connection in time. A statement timeout (57014) and a transaction API error
// (P2028) stay INTERNAL: they more often mean a slow query or a bug, which
// must show in the error rate, than an outage.
const UNAVAILABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1017', 'P2024']);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|is not currently accepting connections/;

/** True when `err` (or its cause) says the database could not be reached or is not accepting work: a retry may succeed. */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; meta?: { driverAdapterError?: { cause?: AdapterCause } } };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && (UNREACHABLE_SOCKET_CODES.has(code) || UNAVAILABLE_PRISMA_CODES.has(code))) return true;
  const sqlState = postgresErrorOf(err)?.code;
  if (sqlState && (sqlState.startsWith('08') || UNAVAILABLE_SQLSTATES.has(sqlState))) return true;
  const kind = e.meta?.driverAdapterError?.cause?.kind;
  if (kind && UNAVAILABLE_ADAPTER_KINDS.has(kind)) return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}
