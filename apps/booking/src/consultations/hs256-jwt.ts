import { createHmac } from 'node:crypto';

// A JSON Web Token signed with HMAC-SHA256 (RFC 7519, RFC 7515's compact
// form): all that Jitsi's token authentication needs, in a dozen lines of
// Node's crypto rather than a dependency.

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/** The compact JWT of `claims`, signed with `secret`. */
export function signHs256Jwt(claims: Record<string, unknown>, secret: string): string {
  const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}
