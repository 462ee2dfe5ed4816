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
