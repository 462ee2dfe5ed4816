import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors';
import { decodePageToken, encodePageToken, isTimeIdKey, toPage, type TimeIdKey } from './page-token';

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
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(token, 'base64url').toString()).not.toContain('cardiology');
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

  it('refuse a token whose key has the wrong shape, even with a matching fingerprint', () => {
    const forged = encodePageToken({ offset: 100 }, filters);
    const err = invalidArgumentOf(() => decodePageToken(forged, filters, isTimeIdKey));
    expect(err.violations).toEqual([{ field: 'page_token', description: 'is not a token this API issued' }]);
  });

  it('refuse a JSON token without a fingerprint', () => {
    const token = Buffer.from(JSON.stringify({ k: key })).toString('base64url');
    expect(() => decodePageToken(token, filters, isTimeIdKey)).toThrow(InvalidArgumentError);
    const nullToken = Buffer.from('null').toString('base64url');
    expect(() => decodePageToken(nullToken, filters, isTimeIdKey)).toThrow(InvalidArgumentError);
  });
});

describe('isTimeIdKey', () => {
  it.each([
    [key, true],
    [['2026-11-26T10:00:00Z', 'x'], true],
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

  it('returns all rows and no token when they fit in the page', () => {
    expect(toPage(rows.slice(0, 3), 3, keyOf, filters)).toEqual({ items: rows.slice(0, 3), nextPageToken: '' });
    expect(toPage([], 3, keyOf, filters)).toEqual({ items: [], nextPageToken: '' });
  });

  it('drops the look-ahead row and points the token at the last kept row', () => {
    const page = toPage(rows.slice(0, 4), 3, keyOf, filters);
    expect(page.items).toEqual(rows.slice(0, 3));
    expect(decodePageToken(page.nextPageToken, filters, isTimeIdKey)).toEqual(keyOf(rows[2]));
  });
});
