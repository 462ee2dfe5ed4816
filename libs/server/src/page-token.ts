import { createHash } from 'node:crypto';
import { InvalidArgumentError } from './errors';

// Page tokens are opaque to clients: base64url JSON of the keyset position,
// plus a fingerprint of the query's filters so a token cannot be replayed
// against a different query.

interface TokenBody<K> {
  k: K;
  f: string;
}

function fingerprint(filters: unknown): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 16);
}

/** Encodes the keyset position after the last row of a page. */
export function encodePageToken<K>(key: K, filters: unknown): string {
  const body: TokenBody<K> = { k: key, f: fingerprint(filters) };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/** Decodes a page token, or undefined for the first page; INVALID_ARGUMENT if foreign or corrupt. */
export function decodePageToken<K>(token: string, filters: unknown, isKey: (k: unknown) => k is K): K | undefined {
  if (!token) return undefined;
  let body: Partial<TokenBody<unknown>>;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidArgumentError([{ field: 'page_token', description: 'is not a token this API issued' }]);
  }
  if (body?.f !== fingerprint(filters)) {
    throw new InvalidArgumentError([{ field: 'page_token', description: 'was issued for a different query' }]);
  }
  if (!isKey(body.k)) throw new InvalidArgumentError([{ field: 'page_token', description: 'is not a token this API issued' }]);
  return body.k;
}

/** The usual keyset: a timestamp (ISO) and a UUID tie-breaker. */
export type TimeIdKey = [string, string];

/** Type guard for TimeIdKey. */
export function isTimeIdKey(k: unknown): k is TimeIdKey {
  return Array.isArray(k) && k.length === 2 && typeof k[0] === 'string' && !Number.isNaN(Date.parse(k[0])) && typeof k[1] === 'string';
}

/** One page of a keyset-paginated list. */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/**
 * Cuts rows fetched with `limit = pageSize + 1` into a page: the extra row
 * only tells that another page exists, and the last kept row is the cursor.
 */
export function toPage<T>(rows: T[], pageSize: number, keyOf: (row: T) => TimeIdKey, filters: unknown): Page<T> {
  if (rows.length <= pageSize) return { items: rows, nextPageToken: '' };
  const items = rows.slice(0, pageSize);
  return { items, nextPageToken: encodePageToken(keyOf(items[items.length - 1]), filters) };
}

/** The rows after a TimeIdKey cursor in ascending (`field`, id) order, as a Prisma `where` fragment. */
export type AfterTimeIdKey<F extends string> = { OR?: [Record<F, { gt: Date }>, Record<F, Date> & { id: { gt: string } }] };

/** Prisma `where` fragment for the rows after `after` in (`field`, id) order; empty on the first page. Spread it into `where`. */
export function afterTimeIdKey<F extends string>(field: F, after: TimeIdKey | undefined): AfterTimeIdKey<F> {
  if (!after) return {};
  const time = new Date(after[0]);
  return { OR: [{ [field]: { gt: time } } as Record<F, { gt: Date }>, { [field]: time, id: { gt: after[1] } } as Record<F, Date> & { id: { gt: string } }] };
}
