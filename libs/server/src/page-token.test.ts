import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors';
import { isTimeIdKey, pageTokens, toPage, type TimeIdKey } from './page-token';

const tokens = pageTokens(['k'.repeat(32)]);
const encodePageToken = (k: unknown, f: unknown) => tokens.encode(k, f);
const decodePageToken = <K>(t: string, f: unknown, isKey: (k: unknown) => k is K) => tokens.decode(t, f, isKey);

const key: TimeIdKey = ['2026-11-26T10:00:00.000Z', '0b9f6c1e-4a8e-4a59-9a57-3f2f7c0d2a11'];
const filters = { clinicId: 'c1', specialty: 'cardiology' };

/** The InvalidArgumentError `fn` throws. */
function invalidArgumentOf(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('page tokens', () => {
  it('round-trip the keyset position for the same filters', () => {
    const token = encodePageToken(key, filters);
    expect(decodePageToken(token, { ...filters }, isTimeIdKey)).toEqual(key);
  });

  it('are URL-safe and do not show the filters in clear', () => {
    const token = encodePageToken(key, filters);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(Buffer.from(token.split('.')[0], 'base64url').toString()).not.toContain('cardiology');
  });

  it('refuse a token whose body was edited, even with the fingerprint kept', () => {
    const [body, mac] = encodePageToken(key, filters).split('.');
    const parsed = JSON.parse(Buffer.from(body, 'base64url').toString());
    const edited = Buffer.from(JSON.stringify({ ...parsed, k: ["'; DROP TABLE slot; --", key[1]] })).toString('base64url');
    const err = invalidArgumentOf(() => decodePageToken(`${edited}.${mac}`, filters, isTimeIdKey));
    expect(err.violations).toEqual([{ field: 'page_token', description: 'is not a token this API issued' }]);
  });

  it('refuse a token signed with another key, and accept one of a key still listed (rotation)', () => {
    const old = pageTokens(['o'.repeat(32)]);
    const token = old.encode(key, filters);
    expect(() => decodePageToken(token, filters, isTimeIdKey)).toThrow(InvalidArgumentError);
    const rotated = pageTokens(['n'.repeat(32), 'o'.repeat(32)]);
    expect(rotated.decode(token, filters, isTimeIdKey)).toEqual(key);
    expect(rotated.encode(key, filters)).not.toBe(token);
  });

  it('refuse an overlong token without decoding it, and keys too short to be secret', () => {
    expect(() => decodePageToken('a'.repeat(513), filters, isTimeIdKey)).toThrow(InvalidArgumentError);
    expect(() => pageTokens(['short'])).toThrow(/at least 32/);
    expect(() => pageTokens([])).toThrow(/at least 32/);
  });

  it('decode the empty token as the first page', () => {
    expect(decodePageToken('', filters, isTimeIdKey)).toBeUndefined();
  });

  it('refuse a token issued for different filters', () => {
    const token = encodePageToken(key, filters);
    const err = invalidArgumentOf(() => decodePageToken(token, { ...filters, specialty: 'dermatology' }, isTimeIdKey));
    expect(err.violations).toEqual([{ field: 'page_token', description: 'was issued for a different query' }]);
    expect(err.reason).toBe('INVALID_ARGUMENT');
  });

  it.each([
    ['not base64 JSON', '!!!not-a-token!!!'],
    ['truncated', encodePageToken(key, filters).slice(0, 10)],
  ])('refuse a corrupt token (%s)', (_, token) => {
    const err = invalidArgumentOf(() => decodePageToken(token, filters, isTimeIdKey));
    expect(err.violations.map((v) => v.field)).toEqual(['page_token']);
  });

  it('refuse a signed token whose key has the wrong shape', () => {
    const forged = encodePageToken({ offset: 100 }, filters);
    const err = invalidArgumentOf(() => decodePageToken(forged, filters, isTimeIdKey));
    expect(err.violations).toEqual([{ field: 'page_token', description: 'is not a token this API issued' }]);
  });

  it('refuse an unsigned JSON token', () => {
    const token = Buffer.from(JSON.stringify({ k: key })).toString('base64url');
    expect(() => decodePageToken(token, filters, isTimeIdKey)).toThrow(InvalidArgumentError);
    const nullToken = Buffer.from('null').toString('base64url');
    expect(() => decodePageToken(nullToken, filters, isTimeIdKey)).toThrow(InvalidArgumentError);
  });
});

describe('isTimeIdKey', () => {
  it.each([
    [key, true],
    [['2026-11-26T10:00:00Z', '0B9F6C1E-4A8E-4A59-9A57-3F2F7C0D2A11'], true],
    [['2026-11-26T10:00:00Z', 'x'], false],
    [['not a date', 'x'], false],
    [['2026-11-26T10:00:00Z'], false],
    [['2026-11-26T10:00:00Z', 1], false],
    [['2026-11-26T10:00:00Z', 'x', 'y'], false],
    [{ 0: '2026-11-26T10:00:00Z', 1: 'x', length: 2 }, false],
    [null, false],
    ['2026-11-26T10:00:00Z', false],
  ])('%j → %s', (value, expected) => {
    expect(isTimeIdKey(value)).toBe(expected);
  });
});

describe('toPage', () => {
  const rows = Array.from({ length: 5 }, (_, i) => ({ id: `id-${i}`, at: `2026-11-26T10:0${i}:00.000Z` }));
  const keyOf = (r: (typeof rows)[number]): TimeIdKey => [r.at, r.id];

  it('returns all rows and no position when they fit in the page', () => {
    expect(toPage(rows.slice(0, 3), 3, keyOf)).toEqual({ items: rows.slice(0, 3), next: undefined });
    expect(toPage([], 3, keyOf)).toEqual({ items: [], next: undefined });
    expect(tokens.encode(undefined, filters)).toBe('');
  });

  it('drops the look-ahead row and points the position at the last kept row', () => {
    const page = toPage(rows.slice(0, 4), 3, keyOf);
    expect(page.items).toEqual(rows.slice(0, 3));
    expect(page.next).toEqual(keyOf(rows[2]));
  });
});
