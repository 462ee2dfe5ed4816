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
const BEARER = /^Bearer ([\x21-\x7e]+)$/;

/** A checker of calls' `authorization: Bearer <token>` metadata against `token`. */
export function internalCredential(token: string): (metadata: Metadata) => CallerCredential {
  const expected = digest(token);
  return (metadata) => {
    const [header] = metadata.get('authorization');
    if (header === undefined) return 'none';
    const bearer = typeof header === 'string' ? BEARER.exec(header) : null;
    if (!bearer) return 'invalid';
    return timingSafeEqual(digest(bearer[1]), expected) ? 'internal' : 'invalid';
  };
}

/** The refusal of an internal method to a caller without the internal credential. */
export function internalCredentialError(credential: Exclude<CallerCredential, 'internal'>): UnauthenticatedError {
  return credential === 'none'
    ? new UnauthenticatedError('this method is internal: it needs the metadata "authorization: Bearer <internal token>"', 'CREDENTIAL_MISSING')
    : new UnauthenticatedError('the authorization metadata is not the internal credential', 'CREDENTIAL_INVALID');
}
