import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { UnauthenticatedError } from './errors';

// The credential of carebook's internal RPCs (catalog's ClaimSlot and
// ReleaseSlot): a shared bearer token that only the services themselves hold.
// Tokens are compared as SHA-256 digests in constant time, so neither their
// content nor their length leaks through timing.

/** Fewest characters an internal token may have: 32 random characters are beyond guessing. */
export const MIN_INTERNAL_TOKEN_LENGTH = 32;

/** What a call's `authorization` metadata proved: no credential, the internal one, or something else. */
export type CallerCredential = 'none' | 'internal' | 'invalid';

const digest = (text: string) => createHash('sha256').update(text).digest();
// The scheme is case-insensitive (RFC 9110); a token is printable ASCII
// without spaces, which the configuration checks too.
const BEARER = /^bearer ([\x21-\x7e]+)$/i;

/**
 * A checker of calls' `authorization: Bearer <token>` metadata. Every token
 * of `tokens` is accepted, so a new one can be added before the callers
 * switch to it and the old one removed after (rotation).
 */
export function internalCredential(tokens: readonly string[]): (metadata: Metadata) => CallerCredential {
  const expected = tokens.map(digest);
  return (metadata) => {
    const [header] = metadata.get('authorization');
    if (header === undefined) return 'none';
    const bearer = typeof header === 'string' ? BEARER.exec(header) : null;
    if (!bearer) return 'invalid';
    const given = digest(bearer[1]);
    // Every token is compared, so the time taken does not say which matched.
    return expected.map((token) => timingSafeEqual(given, token)).includes(true) ? 'internal' : 'invalid';
  };
}

/** The refusal of an internal method to a caller without the internal credential. */
export function internalCredentialError(credential: Exclude<CallerCredential, 'internal'>): UnauthenticatedError {
  return credential === 'none'
    ? new UnauthenticatedError('this method is internal: it needs the metadata "authorization: Bearer <internal token>"', 'CREDENTIAL_MISSING')
    : new UnauthenticatedError('the authorization metadata is not the internal credential', 'CREDENTIAL_INVALID');
}
