// Tables of values that break careless code, one table per mutation kind.
// Fuzz cases pick from them by index, so a counterexample prints as a number.

/** C0 and C1 control characters, NUL and DEL among them. */
export const CONTROL_CHARACTERS = ['\u0000', '\u0001', '\u0007', '\b', '\t', '\n', '\r', '\u000b', '\u001b', '\u001f', '\u007f', '\u0085', '\u009b'];

/** Text that changes length when case-folded or normalised, reorders itself, hides, or reads as code. */
export const UNICODE_ODDITIES = [
  '\u202e', // right-to-left override
  '\u200b', // zero-width space
  '\ufeff', // byte order mark
  '\ud800', // lone high surrogate (sent as U+FFFD)
  '\udfff', // lone low surrogate
  '\uffff', // noncharacter
  '\u{10ffff}', // last code point
  '\u{1f469}\u200d\u{1f469}\u200d\u{1f467}', // one grapheme of five code points
  `e${'\u0301'.repeat(200)}`, // a letter under 200 combining accents
  'İ', // lower-cases to two code points
  'ß', // upper-cases to SS
  'ﬃ',
  'Ｅｕｒｏｐｅ/Ｂｅｒｌｉｎ', // full-width
  '١٢٣', // Arabic-Indic digits
  '\u2028', // line separator
  '\u00a0', // no-break space
  "'; DROP TABLE slot; --",
  '%00',
  '\\u0000',
  '${7*7}',
  '../../etc/passwd',
];

/** Byte sequences that are not UTF-8: stray continuation, overlong NUL, surrogate, beyond U+10FFFF, truncated. */
export const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xfe, 0xfe, 0xff, 0xff]];

/** Strings in an id field that are not a canonical UUID, given a real one. */
export function notUuids(real: string): string[] {
  return [
    '',
    'not-a-uuid',
    real.toUpperCase(),
    `{${real}}`,
    real.replace(/-/g, ''),
    `${real} `,
    ` ${real}`,
    real.slice(0, -1),
    `${real}0`,
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
    `urn:uuid:${real}`,
    "' OR '1'='1",
    '1',
    '-1',
    '%',
    real.replace(/-/g, '_'),
  ];
}

/** Instants at and beyond the edges of what PostgreSQL and JavaScript can hold, and one Date that is no instant. */
export const EXTREME_DATES = [
  '0000-01-01T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '1582-10-10T00:00:00Z',
  '1969-12-31T23:59:59.999Z',
  '1970-01-01T00:00:00Z',
  '2038-01-19T03:14:08Z',
  '9999-12-31T23:59:59.999Z',
  '+010000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '-271821-04-20T00:00:00Z',
  'NaN',
].map((iso) => new Date(iso === 'NaN' ? NaN : iso));

/** google.protobuf.Timestamp values a JS Date cannot express, or that the spec forbids: [seconds, nanos]. */
export const RAW_TIMESTAMPS: [bigint, number][] = [
  [2n ** 53n + 1n, 0],
  [253402300800n, 0], // year 10000
  [253402300799n, 999_999_999],
  [-62135596801n, 0], // before year 1
  [0n, -1],
  [0n, 1_000_000_000],
  [1_900_000_000n, 1], // sub-microsecond
  [2n ** 63n - 1n, 0],
  [-(2n ** 63n), 0],
  [-1n, -1],
  [0n, 2 ** 31 - 1],
  [0n, -(2 ** 31)],
  [8_640_000_000_001n, 0], // just past the last Date
];

/** Numbers at the edges of int32, int64 and double. */
export const EXTREME_NUMBERS = [
  2 ** 31, -(2 ** 31), 2 ** 31 - 1, -1, 0, 2 ** 32, 2 ** 53 + 2, -(2 ** 53), NaN, Infinity, -Infinity, -0, 1e308, -1e308, 5e-324, 0.5,
  90.0000001, -180.0000001, 200.0000001, 1e15, 24, 60, 1e9, 99_999,
];

/** Raw varints for int32/int64/enum fields: beyond 2^31, 2^32, 2^53 and 2^63. */
export const RAW_VARINTS = [2n ** 31n, 2n ** 32n, 2n ** 32n + 5n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, -1n, -(2n ** 31n) - 1n];

/** JSON values to put into a real page token's body. */
export const TOKEN_JSON_VALUES: unknown[] = [
  'not-a-uuid',
  '\u0000',
  'x'.repeat(10_000),
  '+275760-09-13T00:00:00.000Z',
  '-271821-04-20T00:00:00.000Z',
  '0000-01-01T00:00:00Z',
  '2020-02-30T25:61:00Z',
  '1',
  1e308,
  -1,
  null,
  true,
  [],
  {},
  ['a', 'b', 'c'],
];

/** Page token bodies no server issued. */
export const FOREIGN_TOKEN_BODIES = [
  '{}',
  '[]',
  'null',
  '"x"',
  '1e999',
  '{"k":null,"f":null}',
  '{"__proto__":{"polluted":1}}',
  `${'['.repeat(5000)}${']'.repeat(5000)}`,
  '{"k":["2020-01-01T00:00:00Z","not-a-uuid"],"f":"x"}',
  'not json',
  '\u0000',
];
