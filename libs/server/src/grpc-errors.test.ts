import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Metadata, status as Code, type ServiceError } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  type DomainError,
} from './errors';
import { isServiceError, readStatusDetails, toServiceError } from './grpc-errors';

const DOMAIN = 'test.carebook.dev';

/** google.rpc messages parsed from Google's own .proto files, to check the wire format independently of our stubs. */
function googleRpcRoot(): protobuf.Root {
  const protosDir = join(dirname(createRequire(import.meta.url).resolve('google-proto-files/package.json')));
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(protosDir, target);
  root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
  return root;
}

describe('toServiceError', () => {
  it.each<[string, DomainError, Code, string, Record<string, string>]>([
    ['not found', new NotFoundError('clinic', 'c-1'), Code.NOT_FOUND, 'CLINIC_NOT_FOUND', { clinic_id: 'c-1' }],
    [
      'failed precondition',
      new FailedPreconditionError('slot is taken', 'SLOT_UNAVAILABLE', { slot_id: 's-1' }),
      Code.FAILED_PRECONDITION,
      'SLOT_UNAVAILABLE',
      { slot_id: 's-1' },
    ],
    ['already exists', new AlreadyExistsError('overlaps', 'SLOT_OVERLAP'), Code.ALREADY_EXISTS, 'SLOT_OVERLAP', {}],
    ['unavailable', new UnavailableError('catalog down', 'CATALOG_UNAVAILABLE'), Code.UNAVAILABLE, 'CATALOG_UNAVAILABLE', {}],
    ['deadline exceeded', new DeadlineExceededError('too late', 'DEADLINE_PASSED'), Code.DEADLINE_EXCEEDED, 'DEADLINE_PASSED', {}],
  ])('maps %s to its code with ErrorInfo', (_, error, code, reason, metadata) => {
    const err = toServiceError(error, DOMAIN);
    expect(err.code).toBe(code);
    expect(err.message).toBe(error.message);
    expect(err.details).toBe(error.message);
    expect(isServiceError(err)).toBe(true);
    const details = readStatusDetails(err);
    expect(details.errorInfo).toEqual({ reason, domain: DOMAIN, metadata });
    expect(details.badRequest).toBeUndefined();
  });

  it('maps invalid arguments to INVALID_ARGUMENT with every field violation in BadRequest', () => {
    const violations = [
      { field: 'clinic.display_name', description: 'is required' },
      { field: 'clinic.time_zone', description: '"Mars/Olympus" is not an IANA time zone name' },
    ];
    const err = toServiceError(new InvalidArgumentError(violations), DOMAIN);
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toBe('clinic.display_name: is required; clinic.time_zone: "Mars/Olympus" is not an IANA time zone name');
    const details = readStatusDetails(err);
    expect(details.errorInfo).toEqual({ reason: 'INVALID_ARGUMENT', domain: DOMAIN, metadata: {} });
    expect(details.badRequest?.fieldViolations.map(({ field, description }) => ({ field, description }))).toEqual(violations);
  });

  it('writes a google.rpc.Status that Google\'s own protos decode', () => {
    const err = toServiceError(new InvalidArgumentError([{ field: 'page_size', description: 'must be between 1 and 500' }]), DOMAIN);
    const raw = err.metadata.get('grpc-status-details-bin');
    expect(raw).toHaveLength(1);
    expect(raw[0]).toBeInstanceOf(Buffer);

    const root = googleRpcRoot();
    const status = root.lookupType('google.rpc.Status').decode(raw[0] as Buffer) as unknown as {
      code: number;
      message: string;
      details: { type_url: string; typeUrl?: string; value: Uint8Array }[];
    };
    expect(status.code).toBe(Code.INVALID_ARGUMENT);
    expect(status.message).toBe('page_size: must be between 1 and 500');
    const byType = new Map(status.details.map((d) => [d.typeUrl ?? d.type_url, d.value]));
    expect([...byType.keys()]).toEqual(['type.googleapis.com/google.rpc.ErrorInfo', 'type.googleapis.com/google.rpc.BadRequest']);
    const info = root.lookupType('google.rpc.ErrorInfo').toObject(root.lookupType('google.rpc.ErrorInfo').decode(byType.get('type.googleapis.com/google.rpc.ErrorInfo')!));
    expect(info).toMatchObject({ reason: 'INVALID_ARGUMENT', domain: DOMAIN });
    const badRequestType = root.lookupType('google.rpc.BadRequest');
    const badRequest = badRequestType.toObject(badRequestType.decode(byType.get('type.googleapis.com/google.rpc.BadRequest')!));
    expect(badRequest.fieldViolations ?? badRequest.field_violations).toEqual([
      { field: 'page_size', description: 'must be between 1 and 500' },
    ]);
  });

  it.each([
    ['an Error', new Error('connection to 10.0.0.5 refused: password authentication failed for user "catalog"')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a string', 'boom'],
    ['undefined', undefined],
    ['an object with a numeric code but no metadata', Object.assign(new Error('pg'), { code: 5 })],
  ])('maps %s to INTERNAL with a generic message that leaks nothing', (_, thrown) => {
    const err = toServiceError(thrown, DOMAIN);
    expect(err.code).toBe(Code.INTERNAL);
    expect(err.message).toBe('internal error');
    expect(err.details).toBe('internal error');
    expect(readStatusDetails(err)).toEqual({ errorInfo: { reason: 'INTERNAL', domain: DOMAIN, metadata: {} } });
    expect(Buffer.concat(err.metadata.get('grpc-status-details-bin') as Buffer[]).toString('latin1')).not.toMatch(
      /password|Cannot read|boom|pg/,
    );
  });

  it("answers an upstream service's unhandled error as INTERNAL, without its message", () => {
    const upstream = Object.assign(new Error('5 NOT_FOUND: table slot_x gone'), { code: Code.NOT_FOUND, details: 'table slot_x gone', metadata: new Metadata() });
    const err = toServiceError(upstream, DOMAIN);
    expect(err.code).toBe(Code.INTERNAL);
    expect(err.message).toBe('internal error');
  });

  it('answers an unreachable database as UNAVAILABLE, saying a retry is safe', () => {
    for (const cause of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' }),
      new Error('Connection terminated unexpectedly'),
      new Error('wrapped', { cause: new Error('timeout exceeded when trying to connect') }),
    ]) {
      const err = toServiceError(cause, DOMAIN);
      expect(err.code, cause.message).toBe(Code.UNAVAILABLE);
      expect(readStatusDetails(err).errorInfo?.reason).toBe('DATABASE_UNAVAILABLE');
      expect(err.message).toContain('safe to retry');
    }
  });

  it('bounds the reply however large the error: message, violations and metadata', () => {
    const huge = 'x'.repeat(30_000);
    const violations = Array.from({ length: 1000 }, (_, i) => ({ field: `f${i}${huge}`, description: huge }));
    const invalid = toServiceError(new InvalidArgumentError(violations), DOMAIN);
    expect(invalid.message.length).toBeLessThanOrEqual(1024);
    expect(readStatusDetails(invalid).badRequest?.fieldViolations).toHaveLength(20);
    expect(invalid.metadata.get('grpc-status-details-bin')[0].length).toBeLessThan(16_000);
    const precondition = toServiceError(new FailedPreconditionError(huge, 'X', { id: huge }), DOMAIN);
    expect(precondition.message.length).toBeLessThanOrEqual(1024);
    expect(precondition.metadata.get('grpc-status-details-bin')[0].length).toBeLessThan(2_000);
  });
});

describe('readStatusDetails', () => {
  it('returns nothing for an error without details', () => {
    const plain: ServiceError = Object.assign(new Error('x'), { code: Code.UNKNOWN, details: 'x', metadata: new Metadata() });
    expect(readStatusDetails(plain)).toEqual({});
  });

  it('ignores detail types it does not know', () => {
    const root = googleRpcRoot();
    const Status = root.lookupType('google.rpc.Status');
    const RetryInfo = root.lookupType('google.rpc.RetryInfo');
    const ErrorInfo = root.lookupType('google.rpc.ErrorInfo');
    const status = Status.encode(
      Status.fromObject({
        code: Code.UNAVAILABLE,
        message: 'later',
        details: [
          { type_url: 'type.googleapis.com/google.rpc.RetryInfo', value: RetryInfo.encode(RetryInfo.fromObject({ retryDelay: { seconds: 1 } })).finish() },
          { type_url: 'type.googleapis.com/google.rpc.ErrorInfo', value: ErrorInfo.encode(ErrorInfo.fromObject({ reason: 'BUSY', domain: 'x', metadata: { a: 'b' } })).finish() },
        ],
      }),
    ).finish();
    const metadata = new Metadata();
    metadata.set('grpc-status-details-bin', Buffer.from(status));
    const err: ServiceError = Object.assign(new Error('later'), { code: Code.UNAVAILABLE, details: 'later', metadata });
    expect(readStatusDetails(err)).toEqual({ errorInfo: { reason: 'BUSY', domain: 'x', metadata: { a: 'b' } } });
  });
});

describe('isServiceError', () => {
  it('requires an Error with a numeric code and Metadata', () => {
    expect(isServiceError(Object.assign(new Error('x'), { code: 5, metadata: new Metadata() }))).toBe(true);
    expect(isServiceError(Object.assign(new Error('x'), { code: 5 }))).toBe(false);
    expect(isServiceError(Object.assign(new Error('x'), { code: '23505', metadata: new Metadata() }))).toBe(false);
    expect(isServiceError({ code: 5, metadata: new Metadata() })).toBe(false);
    expect(isServiceError(undefined)).toBe(false);
  });
});
