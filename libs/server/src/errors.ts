// Domain errors: what services throw. They know nothing of gRPC; the server
// library maps each kind to a status code in one place (grpc-errors.ts).

/** One invalid field of a request, named by its proto field path. */
export interface FieldViolation {
  field: string;
  description: string;
}

/** Base class: `reason` is an UPPER_SNAKE constant clients may branch on. */
export abstract class DomainError extends Error {
  abstract readonly kind:
    | 'not_found'
    | 'invalid_argument'
    | 'failed_precondition'
    | 'already_exists'
    | 'unavailable'
    | 'deadline_exceeded'
    | 'unauthenticated'
    | 'permission_denied';
  constructor(
    message: string,
    readonly reason: string,
    readonly metadata: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A referenced resource does not exist. */
export class NotFoundError extends DomainError {
  readonly kind = 'not_found';
  constructor(resource: string, id: string) {
    super(`${resource} ${id} not found`, `${resource.toUpperCase()}_NOT_FOUND`, { [`${resource}_id`]: id });
  }
}

/** The request itself is malformed; every bad field is listed. */
export class InvalidArgumentError extends DomainError {
  readonly kind = 'invalid_argument';
  constructor(readonly violations: FieldViolation[]) {
    super(violations.map((v) => `${v.field}: ${v.description}`).join('; '), 'INVALID_ARGUMENT');
  }
}

/** The request is well-formed but the system's state refuses it. */
export class FailedPreconditionError extends DomainError {
  readonly kind = 'failed_precondition';
}

/** The request would create something that clashes with what exists. */
export class AlreadyExistsError extends DomainError {
  readonly kind = 'already_exists';
}

/** A dependency could not be reached; retrying later may succeed. */
export class UnavailableError extends DomainError {
  readonly kind = 'unavailable';
}

/** The caller's deadline passed before the work could be done. */
export class DeadlineExceededError extends DomainError {
  readonly kind = 'deadline_exceeded';
}

/** The call carries no credential, or one that is not well-formed, for a method that needs one. */
export class UnauthenticatedError extends DomainError {
  readonly kind = 'unauthenticated';
}

/** The caller's credential is not one allowed to call the method. */
export class PermissionDeniedError extends DomainError {
  readonly kind = 'permission_denied';
}
