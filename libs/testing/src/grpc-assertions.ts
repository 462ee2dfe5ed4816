import { status, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'vitest';
import { isServiceError, readStatusDetails, type StatusDetails } from '@carebook/server';

export interface ExpectedGrpcError {
  /** ErrorInfo.reason */
  reason?: string;
  /** A BadRequest field violation that must be present. */
  field?: string;
}

/** Awaits `call`, asserts it failed with `code` (and reason/field), and returns the error and its details. */
export async function expectGrpcError(
  call: Promise<unknown>,
  code: status,
  expected: ExpectedGrpcError = {},
): Promise<ServiceError & StatusDetails> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have failed').toBeDefined();
  if (!isServiceError(err)) throw err;
  expect(status[err.code], err.details).toBe(status[code]);
  const details = readStatusDetails(err);
  if (expected.reason) expect(details.errorInfo?.reason).toBe(expected.reason);
  if (expected.field) expect(details.badRequest?.fieldViolations.map((v) => v.field)).toContain(expected.field);
  return Object.assign(err, details);
}
