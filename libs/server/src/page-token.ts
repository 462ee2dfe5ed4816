import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from './errors';
import { isUuid } from './validation';

// Page tokens are opaque to clients: base64url JSON of the keyset position and
// a fingerprint of the query's filters (so a token cannot be replayed against
// another query), then a dot and an HMAC-SHA256 of that body under the
// deployment's page-token key (CAREBOOK_PAGE_TOKEN_KEY). A token whose body
// was edited fails the MAC and never reaches SQL. Keys rotate: every
// configured key verifies, the first one signs.

interface TokenBody {
  k: unknown;
  f: string;
}

/** Fewest characters a page-token key may have. */
export const MIN_PAGE_TOKEN_KEY_LENGTH = 32;
/** Longest page token accepted; the ones carebook issues are about 150 characters. */
export const MAX_PAGE_TOKEN_LENGTH = 512;
// 128 bits of MAC are beyond forging and keep tokens short.
const MAC_BYTES = 16;

function fingerprint(filters: unknown): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 16);
}

const notIssued = () => new InvalidArgumentError([{ field: 'page_token', description: 'is not a token this API issued' }]);

/** Issues and checks the page tokens of one deployment. */
export interface PageTokens {
  /** The token of the page after `key`, or '' when there is none. */
  encode(key: unknown, filters: unknown): string;
  /** The keyset position in `token`, or undefined for the first page; INVALID_ARGUMENT if forged, edited, corrupt or from another query. */
  decode<K>(token: string, filters: unknown, isKey: (k: unknown) => k is K): K | undefined;
}

/** Page tokens signed with the first of `keys` and verified with any of them. */
export function pageTokens(keys: readonly string[]): PageTokens {
  if (keys.length === 0 || keys.some((k) => k.length < MIN_PAGE_TOKEN_KEY_LENGTH)) {
    throw new Error(`page-token keys must be at least ${MIN_PAGE_TOKEN_KEY_LENGTH} characters`);
  }
  const mac = (key: string, body: string) => createHmac('sha256', key).update(body).digest().subarray(0, MAC_BYTES);

  return {
    encode(key, filters) {
      if (key === undefined) return '';
      const body = Buffer.from(JSON.stringify({ k: key, f: fingerprint(filters) } satisfies TokenBody)).toString('base64url');
      return `${body}.${mac(keys[0], body).toString('base64url')}`;
    },

    decode(token, filters, isKey) {
      if (!token) return undefined;
      if (token.length > MAX_PAGE_TOKEN_LENGTH) throw notIssued();
      const [body, signature, extra] = token.split('.');
      if (!body || !signature || extra !== undefined) throw notIssued();
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== MAC_BYTES || !keys.some((key) => timingSafeEqual(mac(key, body), given))) throw notIssued();
      let parsed: Partial<TokenBody>;
      try {
        parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      } catch {
        throw notIssued();
      }
      if (parsed?.f !== fingerprint(filters)) {
        throw new InvalidArgumentError([{ field: 'page_token', description: 'was issued for a different query' }]);
      }
      if (!isKey(parsed.k)) throw notIssued();
      return parsed.k;
    },
  };
}

/** The usual keyset: a timestamp (ISO) and a UUID tie-breaker. */
export type TimeIdKey = [string, string];

/** Type guard for TimeIdKey: an ISO time that a Date holds, and a UUID. */
export function isTimeIdKey(k: unknown): k is TimeIdKey {
  return Array.isArray(k) && k.length === 2 && typeof k[0] === 'string' && !Number.isNaN(Date.parse(k[0])) && typeof k[1] === 'string' && isUuid(k[1]);
}

/** One page of a keyset-paginated list: its items, and the position after the last one if more follow. */
export interface Page<T> {
  items: T[];
  next: TimeIdKey | undefined;
}

/**
 * Cuts rows fetched with `limit = pageSize + 1` into a page: the extra row
 * only tells that another page exists, and the last kept row is the cursor.
 */
export function toPage<T>(rows: T[], pageSize: number, keyOf: (row: T) => TimeIdKey): Page<T> {
  if (rows.length <= pageSize) return { items: rows, next: undefined };
  const items = rows.slice(0, pageSize);
  return { items, next: keyOf(items[items.length - 1]) };
}

/** The rows after a TimeIdKey cursor in ascending (`field`, id) order, as a Prisma `where` fragment. */
export type AfterTimeIdKey<F extends string> = { OR?: [Record<F, { gt: Date }>, Record<F, Date> & { id: { gt: string } }] };

/** Prisma `where` fragment for the rows after `after` in (`field`, id) order; empty on the first page. Spread it into `where`. */
export function afterTimeIdKey<F extends string>(field: F, after: TimeIdKey | undefined): AfterTimeIdKey<F> {
  if (!after) return {};
  const time = new Date(after[0]);
  return { OR: [{ [field]: { gt: time } } as Record<F, { gt: Date }>, { [field]: time, id: { gt: after[1] } } as Record<F, Date> & { id: { gt: string } }] };
}
