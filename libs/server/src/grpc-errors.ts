import { Metadata, status as Code, type ServiceError } from '@grpc/grpc-js';
import { Any, BadRequest, BadRequest_FieldViolation, ErrorInfo, Status } from '@carebook/proto/rpc';
import { DomainError, InvalidArgumentError, UnavailableError } from './errors';
import { isDatabaseUnavailable } from './postgres-errors';

const codeOfKind: Record<DomainError['kind'], Code> = {
  not_found: Code.NOT_FOUND,
  invalid_argument: Code.INVALID_ARGUMENT,
  failed_precondition: Code.FAILED_PRECONDITION,
  already_exists: Code.ALREADY_EXISTS,
  unavailable: Code.UNAVAILABLE,
  deadline_exceeded: Code.DEADLINE_EXCEEDED,
  unauthenticated: Code.UNAUTHENTICATED,
  permission_denied: Code.PERMISSION_DENIED,
};

// The last bound on what an error reply repeats. Validators already quote
// only a short prefix of a bad value (validation.ts); these caps hold even
// for a message built elsewhere, so no request can make its error reply big.
const MAX_MESSAGE_LENGTH = 1024;
const MAX_DESCRIPTION_LENGTH = 256;
const MAX_VIOLATIONS = 20;
const MAX_METADATA_VALUE_LENGTH = 128;

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

const boundedMetadata = (metadata: Record<string, string>) =>
  Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, cut(v, MAX_METADATA_VALUE_LENGTH)]));

/** The error a call gets while its database cannot be reached: a retry is safe for reads and for calls with a request_id. */
export function databaseUnavailableError(cause: unknown): UnavailableError {
  return new UnavailableError(
    'the database is unavailable; retry: reads, and calls with a request_id, are safe to retry (a create without one may already have been done)',
    'DATABASE_UNAVAILABLE',
    {},
    { cause },
  );
}

function pack(typeName: string, value: Uint8Array): Any {
  return { typeUrl: `type.googleapis.com/${typeName}`, value: Buffer.from(value) };
}

/** A gRPC error carrying a google.rpc.Status in grpc-status-details-bin. */
function serviceError(code: Code, message: string, details: Any[]): ServiceError {
  const metadata = new Metadata();
  const status: Status = { code, message, details };
  metadata.set('grpc-status-details-bin', Buffer.from(Status.encode(status).finish()));
  return Object.assign(new Error(message), { code, details: message, metadata });
}

/**
 * Maps any error a handler threw to the ServiceError sent to the client.
 * Domain errors keep their code, reason and field violations, their texts
 * bounded; an unreachable database becomes UNAVAILABLE (DATABASE_UNAVAILABLE);
 * anything else becomes INTERNAL with a generic message (the caller logs the
 * real one).
 */
export function toServiceError(err: unknown, domain: string): ServiceError {
  if (err instanceof DomainError) {
    const info = ErrorInfo.encode({ reason: err.reason, domain, metadata: boundedMetadata(err.metadata) }).finish();
    const details = [pack('google.rpc.ErrorInfo', info)];
    let message = err.message;
    if (err instanceof InvalidArgumentError) {
      const violations = err.violations.slice(0, MAX_VIOLATIONS).map((v) => ({
        field: cut(v.field, MAX_DESCRIPTION_LENGTH),
        description: cut(v.description, MAX_DESCRIPTION_LENGTH),
      }));
      const badRequest = BadRequest.encode({ fieldViolations: violations.map((v) => BadRequest_FieldViolation.fromPartial(v)) }).finish();
      details.push(pack('google.rpc.BadRequest', badRequest));
      const more = err.violations.length - violations.length;
      message = violations.map((v) => `${v.field}: ${v.description}`).join('; ') + (more > 0 ? `; and ${more} more` : '');
    }
    return serviceError(codeOfKind[err.kind], cut(message, MAX_MESSAGE_LENGTH), details);
  }
  if (isDatabaseUnavailable(err)) return toServiceError(databaseUnavailableError(err), domain);
  // Anything else, an upstream service's error included, is not the caller's
  // to read: its message may name internals.
  const info = ErrorInfo.encode({ reason: 'INTERNAL', domain, metadata: {} }).finish();
  return serviceError(Code.INTERNAL, 'internal error', [pack('google.rpc.ErrorInfo', info)]);
}

/** True for an error that already is a gRPC status (e.g. from an outgoing call). */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && (err as Partial<ServiceError>).metadata instanceof Metadata;
}

/** Decoded google.rpc details of a gRPC error, for clients and tests. */
export interface StatusDetails {
  errorInfo?: ErrorInfo;
  badRequest?: BadRequest;
}

/** Reads ErrorInfo and BadRequest out of a ServiceError's grpc-status-details-bin. */
export function readStatusDetails(err: ServiceError): StatusDetails {
  const raw = err.metadata?.get('grpc-status-details-bin')[0];
  if (!(raw instanceof Buffer)) return {};
  const result: StatusDetails = {};
  for (const any of Status.decode(raw).details) {
    if (any.typeUrl.endsWith('/google.rpc.ErrorInfo')) result.errorInfo = ErrorInfo.decode(any.value);
    if (any.typeUrl.endsWith('/google.rpc.BadRequest')) result.badRequest = BadRequest.decode(any.value);
  }
  return result;
}
