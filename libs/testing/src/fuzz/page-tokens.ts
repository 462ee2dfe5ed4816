import { FOREIGN_TOKEN_BODIES, TOKEN_JSON_VALUES } from './odd-values';

// Page tokens a client edited or forged, from a real next_page_token.

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** One character of `token` replaced by another base64url character. */
function flipped(token: string, at: number): string {
  if (!token) return 'A';
  const i = at % token.length;
  const other = BASE64URL[(BASE64URL.indexOf(token[i]) + 1 + (at % 63)) % 64];
  return token.slice(0, i) + other + token.slice(i + 1);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Paths to every leaf of a JSON value. */
function leafPaths(value: Json, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.length ? value.flatMap((v, i) => leafPaths(v, [...path, i])) : [path];
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    return keys.length ? keys.flatMap((k) => leafPaths(value[k], [...path, k])) : [path];
  }
  return [path];
}

/** The real token's JSON body with one leaf replaced, re-encoded: it keeps the query fingerprint, so it reaches the key's parser. */
function forgedFromReal(token: string, at: number, variant: number): string {
  let body: Json;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return base64url(JSON.stringify(TOKEN_JSON_VALUES[variant % TOKEN_JSON_VALUES.length]));
  }
  const paths = leafPaths(body);
  const path = paths[at % paths.length];
  const replacement = TOKEN_JSON_VALUES[variant % TOKEN_JSON_VALUES.length] as Json;
  if (path.length === 0) return base64url(JSON.stringify(replacement));
  const parent = path.slice(0, -1).reduce<Json>((node, step) => (node as Record<string, Json>)[step], body);
  (parent as Record<string, Json>)[path[path.length - 1]] = replacement;
  return base64url(JSON.stringify(body));
}

/** `token` edited by the draw (a flipped character, truncated, padded, re-alphabeted, doubled, forged, or foreign), and what was done. */
export function editedPageToken(token: string, draw: { variant: number; at: number; size: number }): { token: string; edit: string } {
  const suffix = ['=', '==', '%3D', '.', ' ', '\n'][draw.at % 6];
  const foreign = FOREIGN_TOKEN_BODIES[draw.at % FOREIGN_TOKEN_BODIES.length];
  const forgedValue = JSON.stringify(TOKEN_JSON_VALUES[draw.size % TOKEN_JSON_VALUES.length]).slice(0, 40);
  const edits: [string, () => string][] = [
    [`character ${draw.at % Math.max(1, token.length)} flipped`, () => flipped(token, draw.at)],
    [`cut to ${draw.at % Math.max(1, token.length)} characters`, () => token.slice(0, draw.at % Math.max(1, token.length))],
    [`${JSON.stringify(suffix)} appended`, () => `${token}${suffix}`],
    ['in the base64 (not base64url) alphabet', () => token.replace(/-/g, '+').replace(/_/g, '/')],
    ['doubled', () => `${token}${token}`],
    [`its JSON leaf #${draw.at} set to ${forgedValue}`, () => forgedFromReal(token, draw.at, draw.size)],
    [`foreign body ${JSON.stringify(foreign.slice(0, 40))}`, () => base64url(foreign)],
  ];
  const [edit, make] = edits[draw.variant % edits.length];
  return { token: make(), edit };
}
