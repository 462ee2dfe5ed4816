import { status } from '@grpc/grpc-js';
import { isServiceError, readStatusDetails } from '@carebook/server';
import type { Outcome } from './load';

/** The error class of a failed call: the ErrorInfo reason when there is one, else the gRPC code name, else the error's name. */
export function classifyError(err: unknown): Outcome {
  if (isServiceError(err)) {
    const reason = readStatusDetails(err).errorInfo?.reason;
    return reason ?? status[err.code] ?? `code ${err.code}`;
  }
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return `pg ${err.code}`;
  return err instanceof Error ? err.name : 'error';
}

/** Runs `call`, mapping success to 'ok' and failure to its error class. */
export async function outcomeOf(call: () => Promise<unknown>): Promise<Outcome> {
  try {
    await call();
    return 'ok';
  } catch (err) {
    return classifyError(err);
  }
}
