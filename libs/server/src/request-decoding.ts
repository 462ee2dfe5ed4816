import { fromBinary, ScalarType, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { DomainError, InvalidArgumentError, type FieldViolation } from './errors';

// Every request is decoded twice: first reflectively, against the service's
// own descriptors, to refuse what the generated stubs would silently bend or
// choke on, then by the stubs. The stubs turn a google.protobuf.Timestamp
// into a JavaScript Date, which quietly normalises nanos outside 0–999,999,999,
// drops digits below the millisecond, and cannot hold seconds beyond 2^53 (the
// stub throws, which grpc-js would answer INTERNAL). Checked here, each such
// value is an INVALID_ARGUMENT that names its field.

/** A request refused while it was decoded, before any handler saw it. */
export class RejectedRequest {
  constructor(readonly error: DomainError) {}
}

/** The bytes are not a message of the method's request type at all. */
export class MalformedRequestError extends DomainError {
  readonly kind = 'invalid_argument';
  constructor(typeName: string, cause: unknown) {
    super(`the request is not a valid ${typeName} message`, 'MALFORMED_REQUEST', {}, { cause });
  }
}

// google.protobuf.Timestamp's own range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const MIN_TIMESTAMP_SECONDS = -62_135_596_800n;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n;
// google.protobuf.Duration's own range: ±10,000 years.
const MAX_DURATION_SECONDS = 315_576_000_000n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const NANOS_PER_MILLI = 1_000_000;
const INT64_TYPES = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64]);

type Reflected = Record<string, unknown>;

function timestampViolations(value: Reflected, field: string): FieldViolation[] {
  const seconds = value.seconds as bigint;
  const nanos = value.nanos as number;
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) return [{ field, description: 'must be from 0001-01-01 to 9999-12-31' }];
  if (nanos < 0 || nanos > 999_999_999) return [{ field: `${field}.nanos`, description: 'must be from 0 to 999,999,999' }];
  if (nanos % NANOS_PER_MILLI !== 0) return [{ field, description: 'must be a whole number of milliseconds (carebook keeps times to the millisecond)' }];
  return [];
}

function durationViolations(value: Reflected, field: string): FieldViolation[] {
  const seconds = value.seconds as bigint;
  const nanos = value.nanos as number;
  if (seconds < -MAX_DURATION_SECONDS || seconds > MAX_DURATION_SECONDS) return [{ field, description: 'must be within ±10,000 years' }];
  if (nanos < -999_999_999 || nanos > 999_999_999 || (seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) {
    return [{ field: `${field}.nanos`, description: 'must be from -999,999,999 to 999,999,999, with the sign of seconds' }];
  }
  return [];
}

function int64Violations(value: unknown, field: string): FieldViolation[] {
  const n = value as bigint;
  return n > MAX_SAFE || n < -MAX_SAFE ? [{ field, description: 'must be within ±(2^53 - 1)' }] : [];
}

function messageViolations(desc: DescMessage, value: Reflected, path: string): FieldViolation[] {
  if (desc.typeName === 'google.protobuf.Timestamp') return timestampViolations(value, path);
  if (desc.typeName === 'google.protobuf.Duration') return durationViolations(value, path);
  return desc.fields.flatMap((field) => fieldViolations(field, value, path ? `${path}.${field.name}` : field.name));
}

function fieldViolations(field: DescField, message: Reflected, path: string): FieldViolation[] {
  const value = field.oneof ? oneofValue(message, field) : message[field.localName];
  if (value === undefined) return [];
  switch (field.fieldKind) {
    case 'message':
      return messageViolations(field.message, value as Reflected, path);
    case 'scalar':
      return INT64_TYPES.has(field.scalar) ? int64Violations(value, path) : [];
    case 'list':
      if (field.listKind === 'message') return (value as Reflected[]).flatMap((item, i) => messageViolations(field.message, item, `${path}[${i}]`));
      if (field.listKind === 'scalar' && INT64_TYPES.has(field.scalar)) return (value as unknown[]).flatMap((item, i) => int64Violations(item, `${path}[${i}]`));
      return [];
    case 'map':
      if (field.mapKind !== 'message') return [];
      return Object.entries(value as Record<string, Reflected>).flatMap(([key, item]) => messageViolations(field.message, item, `${path}[${JSON.stringify(key)}]`));
    default:
      return [];
  }
}

function oneofValue(message: Reflected, field: DescField): unknown {
  const chosen = message[field.oneof!.localName] as { case?: string; value?: unknown } | undefined;
  return chosen?.case === field.localName ? chosen.value : undefined;
}

/**
 * A grpc-js request deserializer for `input` that never throws: bytes that do
 * not decode, and values carebook does not take, come back as a
 * RejectedRequest for the server to answer INVALID_ARGUMENT.
 */
export function checkedDeserializer(input: DescMessage, decode: (bytes: Buffer) => unknown): (bytes: Buffer) => unknown {
  return (bytes) => {
    let reflected: Reflected;
    try {
      reflected = fromBinary(input, bytes) as unknown as Reflected;
    } catch (err) {
      return new RejectedRequest(new MalformedRequestError(input.typeName, err));
    }
    const violations = messageViolations(input, reflected, '');
    if (violations.length > 0) return new RejectedRequest(new InvalidArgumentError(violations));
    try {
      return decode(bytes);
    } catch (err) {
      return new RejectedRequest(new MalformedRequestError(input.typeName, err));
    }
  };
}
