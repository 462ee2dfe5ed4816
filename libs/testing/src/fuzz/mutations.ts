import fc from 'fast-check';
import { fieldName, fieldsOf, pathText, valueAt, withValueAt, type FieldRef } from './fields';
import {
  CONTROL_CHARACTERS,
  EXTREME_DATES,
  EXTREME_NUMBERS,
  INVALID_UTF8,
  RAW_TIMESTAMPS,
  RAW_VARINTS,
  UNICODE_ODDITIES,
  notUuids,
} from './odd-values';
import { editedPageToken } from './page-tokens';
import { malformedBytes } from './malformed';
import { encodeSecondsNanos, replaceLengthDelimited, replaceVarint } from './wire';

/** A ts-proto message type: enough of it to encode a request. */
export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
}

/** Requests stay under this size, except in the kind 'oversize-request'. */
export const MAX_REQUEST_BYTES = 1_000_000;

/** What a fuzz case draws: which field, which odd value, where and how much; each kind reads what it needs. */
export interface MutationDraw {
  field: number;
  variant: number;
  at: number;
  size: number;
  text: string;
  bytes: Uint8Array;
  bigint: bigint;
}

/** The bytes to send and a short description of what was done, or why the case cannot be sent. */
export type BuiltCase = { bytes: Uint8Array; field: string; value: string } | { unsendable: string };

interface CaseInput<T> {
  request: T;
  codec: MessageCodec<T>;
  field: FieldRef;
  draw: MutationDraw;
}

interface MutationKindSpec {
  /** Fields of a valid request this kind can mutate; `undefined` means the kind acts on the whole request. */
  eligible?(field: FieldRef, request: object, codec: MessageCodec<object>): boolean;
  build(input: CaseInput<object>): BuiltCase;
}

const STRING_SENTINEL = 'fuzz-sentinel-3b9f1c';
const DATE_SENTINEL = new Date(1_234_567_890_123);
const DATE_SENTINEL_WIRE = encodeSecondsNanos(1_234_567_890n, 123_000_000);
const NUMBER_SENTINEL = 1_234_567_891;
const utf8 = (s: string) => Buffer.from(s, 'utf8');

/** A short, printable prefix of a value, for failure messages. */
export function preview(value: unknown, max = 60): string {
  const text = value instanceof Date ? (Number.isNaN(+value) ? 'Invalid Date' : value.toISOString()) : typeof value === 'string' ? value : String(value);
  const escaped = JSON.stringify(text.length > max ? text.slice(0, max) : text) ?? String(text);
  return text.length > max ? `${escaped}… (${text.length} chars)` : escaped;
}

function encoded<T>(codec: MessageCodec<T>, request: T): Uint8Array | string {
  try {
    return codec.encode(request).finish();
  } catch (err) {
    return (err as Error).message;
  }
}

/** Sets `value` at the field and encodes; unsendable if ts-proto refuses to encode it. */
function setAndEncode({ request, codec, field }: CaseInput<object>, value: unknown, shown = preview(value)): BuiltCase {
  const bytes = encoded(codec, withValueAt(request, field.path, value));
  return typeof bytes === 'string' ? { unsendable: `ts-proto cannot encode it: ${bytes}` } : { bytes, field: pathText(field.path), value: shown };
}

/** Sets a sentinel at the field, encodes, and swaps the sentinel's wire form for `replace(...)`'s. */
function spliceRaw(input: CaseInput<object>, sentinel: unknown, swap: (encoded: Uint8Array) => Uint8Array | undefined, shown: string): BuiltCase {
  const base = encoded(input.codec, withValueAt(input.request, input.field.path, sentinel));
  const bytes = typeof base === 'string' ? undefined : swap(base);
  return bytes ? { bytes, field: pathText(input.field.path), value: shown } : { unsendable: 'no wire form to splice into' };
}

const insertAt = (s: string, at: number, insert: string) => s.slice(0, at % (s.length + 1)) + insert + s.slice(at % (s.length + 1));
const isString = (f: FieldRef) => f.kind === 'string';
const pick = <T>(table: T[], index: number) => table[index % table.length];

/** Room for a string in a request that must stay under `limit` bytes. */
function roomFor(input: CaseInput<object>, limit: number): number {
  const base = encoded(input.codec, input.request);
  return limit - (typeof base === 'string' ? 0 : base.length) - 16;
}

const UNITS = ['a', 'é', '😀', ' '];

export const MUTATION_KINDS = {
  unmutated: { build: ({ request, codec }) => setAndEncodeWhole(codec, request) },
  'control-chars': {
    eligible: isString,
    build: (input) => {
      // Half of the cases insert NUL, the character most likely to reach PostgreSQL unchecked.
      const control = input.draw.variant % 2 === 0 ? '\u0000' : pick(CONTROL_CHARACTERS, input.draw.variant >> 1);
      return setAndEncode(input, insertAt(String(valueAt(input.request, input.field.path)), input.draw.at, control));
    },
  },
  unicode: {
    eligible: isString,
    build: (input) => {
      const odd = input.draw.variant % 3 === 0 ? input.draw.text : pick(UNICODE_ODDITIES, input.draw.size);
      return setAndEncode(input, insertAt(String(valueAt(input.request, input.field.path)), input.draw.at, odd));
    },
  },
  'huge-string': {
    eligible: isString,
    build: (input) => {
      const unit = pick(UNITS, input.draw.variant);
      const bytes = Math.min(10_000 + (input.draw.size % MAX_REQUEST_BYTES), roomFor(input, MAX_REQUEST_BYTES));
      return setAndEncode(input, unit.repeat(Math.max(1, Math.floor(bytes / utf8(unit).length))));
    },
  },
  'oversize-request': {
    eligible: isString,
    build: (input) => setAndEncode(input, 'x'.repeat(1_048_577 + (input.draw.size % 4_000_000))),
  },
  'invalid-utf8': {
    eligible: isString,
    build: (input) => {
      const invalid = Buffer.from(pick(INVALID_UTF8, input.draw.variant));
      const original = utf8(String(valueAt(input.request, input.field.path)));
      const replacement = Buffer.concat([original, invalid]);
      const shown = `${preview(original.toString())} + bytes ${invalid.toString('hex')}`;
      return spliceRaw(input, STRING_SENTINEL, (bytes) => replaceLengthDelimited(bytes, utf8(STRING_SENTINEL), replacement), shown);
    },
  },
  'page-token': {
    eligible: (field) => field.kind === 'string' && fieldName(field.path) === 'pageToken',
    build: (input) => {
      const { token, edit } = editedPageToken(String(valueAt(input.request, input.field.path)), input.draw);
      return setAndEncode(input, token, `a real token, ${edit}`);
    },
  },
  'non-uuid': {
    eligible: (field) => field.kind === 'string' && /^(id|.+Id|clinicIds)$/.test(fieldName(field.path)) && fieldName(field.path) !== 'requestId',
    build: (input) => {
      const odd = notUuids(String(valueAt(input.request, input.field.path)));
      return setAndEncode(input, input.draw.variant % (odd.length + 1) === odd.length ? input.draw.text : pick(odd, input.draw.variant));
    },
  },
  'extreme-date': {
    eligible: (field) => field.kind === 'date',
    build: (input) => setAndEncode(input, pick(EXTREME_DATES, input.draw.variant)),
  },
  'raw-timestamp': {
    eligible: (field) => field.kind === 'date',
    build: (input) => {
      const [seconds, nanos] = input.draw.variant % 4 === 3 ? [input.draw.bigint, input.draw.size | 0] : pick(RAW_TIMESTAMPS, input.draw.variant);
      const raw = encodeSecondsNanos(seconds, nanos);
      return spliceRaw(input, DATE_SENTINEL, (bytes) => replaceLengthDelimited(bytes, DATE_SENTINEL_WIRE, raw), `Timestamp{seconds: ${seconds}, nanos: ${nanos}}`);
    },
  },
  'extreme-number': {
    eligible: (field) => field.kind === 'number',
    build: (input) => setAndEncode(input, pick(EXTREME_NUMBERS, input.draw.variant)),
  },
  'raw-varint': {
    eligible: (field, request, codec) => field.kind === 'number' && carriesVarint(request, codec, field),
    build: (input) => {
      const value = pick(RAW_VARINTS, input.draw.variant);
      return spliceRaw(input, NUMBER_SENTINEL, (bytes) => replaceVarint(bytes, BigInt(NUMBER_SENTINEL), value), `varint ${value}`);
    },
  },
  structure: {
    eligible: (field) => field.kind !== 'boolean',
    build: (input) => restructured(input),
  },
  'malformed-bytes': {
    build: ({ request, codec, draw }) => {
      const valid = encoded(codec, request);
      return typeof valid === 'string' ? { unsendable: valid } : { field: '(whole request)', ...malformedBytes(valid, draw) };
    },
  },
} satisfies Record<string, MutationKindSpec>;

export type MutationKind = keyof typeof MUTATION_KINDS;

function setAndEncodeWhole(codec: MessageCodec<object>, request: object): BuiltCase {
  const bytes = encoded(codec, request);
  return typeof bytes === 'string' ? { unsendable: bytes } : { bytes, field: '(none)', value: '(the valid request)' };
}

/** Whether the number field is encoded as a varint (int32, int64, enum), not as a double. */
function carriesVarint(request: object, codec: MessageCodec<object>, field: FieldRef): boolean {
  const bytes = encoded(codec, withValueAt(request, field.path, NUMBER_SENTINEL));
  return typeof bytes !== 'string' && replaceVarint(bytes, BigInt(NUMBER_SENTINEL), 0n) !== undefined;
}

/** A field removed or reset to its default, or a repeated field emptied or its first element repeated many times. */
function restructured(input: CaseInput<object>): BuiltCase {
  const value = valueAt(input.request, input.field.path);
  if (Array.isArray(value) && value.length > 0 && input.draw.variant % 2 === 1) {
    let times = 2 + (input.draw.size % 5000);
    for (;;) {
      const built = setAndEncode(input, Array.from({ length: times }, () => value[0]), `${times} copies of element [0]`);
      if ('unsendable' in built || built.bytes.length <= MAX_REQUEST_BYTES || times <= 2) return built;
      times = Math.floor(times / 2);
    }
  }
  const empty = { string: '', number: 0, boolean: false, list: [], date: undefined, message: undefined, bytes: new Uint8Array() }[input.field.kind];
  return setAndEncode(input, empty, `removed (${preview(empty)})`);
}

/** The fields of `request` that `kind` can mutate; one pseudo-field (the root) for kinds that act on the whole request. */
export function eligibleFields(kind: MutationKind, request: object, codec: MessageCodec<object>): FieldRef[] {
  const spec: MutationKindSpec = MUTATION_KINDS[kind];
  if (!spec.eligible) return [{ path: [], kind: 'message' }];
  return fieldsOf(request).filter((field) => spec.eligible!(field, request, codec));
}

/** Random draws for a fuzz case: small numbers and short texts, so a counterexample prints in a line. */
export const mutationDraw: fc.Arbitrary<MutationDraw> = fc.record({
  field: fc.nat(),
  variant: fc.nat(),
  at: fc.nat(),
  size: fc.nat(),
  text: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), fc.uuid()),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 48 }),
  bigint: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
});

/** Builds the mutated request's bytes: `draw` applied by `kind` to the draw's field among `fields`. */
export function buildCase(kind: MutationKind, request: object, codec: MessageCodec<object>, fields: FieldRef[], draw: MutationDraw): BuiltCase {
  const spec: MutationKindSpec = MUTATION_KINDS[kind];
  return spec.build({ request, codec, field: fields[draw.field % fields.length], draw });
}
