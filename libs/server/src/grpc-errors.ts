import { Metadata, status as Code, type ServiceError } from '@grpc/grpc-js';
import { Any, BadRequest, BadRequest_FieldViolation, ErrorInfo, Status } from '@carebook/proto/rpc';
import { DomainError, InvalidArgumentError } from './errors';

const codeOfKind: Record<DomainError['kind'], Code> = {
  not_found: Code.NOT_FOUND,
  invalid_argument: Code.INVALID_ARGUMENT,
  failed_precondition: Code.FAILED_PRECONDITION,
  already_exists: Code.ALREADY_EXISTS,
  unavailable: Code.UNAVAILABLE,
  deadline_exceeded: Code.DEADLINE_EXCEEDED,
};

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
 * Domain errors keep their code, reason and field violations; anything else
 * becomes INTERNAL with a generic message (the caller logs the real one).
 */
export function toServiceError(err: unknown, domain: string): ServiceError {
  if (err instanceof DomainError) {
    const info = ErrorInfo.encode({ reason: err.reason, domain, metadata: err.metadata }).finish();
    const details = [pack('google.rpc.ErrorInfo', info)];
    if (err instanceof InvalidArgumentError) {
      const badRequest = BadRequest.encode({
        fieldViolations: err.violations.map((v) => BadRequest_FieldViolation.fromPartial(v)),
      }).finish();
      details.push(pack('google.rpc.BadRequest', badRequest));
    }
    return serviceError(codeOfKind[err.kind], err.message, details);
  }
  if (isServiceError(err)) return err;
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
