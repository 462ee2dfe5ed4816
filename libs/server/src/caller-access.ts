import type { PeerCertificate } from 'node:tls';
import { PermissionDeniedError } from './errors';
import { quote } from './validation';

// Who may call what. Each service states one rule per RPC in one table
// (apps/<service>/src/access.ts); the server library enforces it for every
// call (docs/operations.md, section 5):
// - 'authenticated': any caller the transport admits; with mutual TLS, any
//   certificate the deployment's CA signed;
// - 'admin': with mutual TLS, only the identities listed as admins; without
//   it, anyone, as before TLS existed;
// - 'internal': the internal bearer token always, and with mutual TLS also an
//   identity listed as internal.

/** Every rule an RPC may have. */
export const ACCESS_RULES = ['authenticated', 'admin', 'internal'] as const;

/** What an RPC requires of its caller. */
export type AccessRule = (typeof ACCESS_RULES)[number];

/** One rule for every RPC (handler key) of a service definition. */
export type AccessTable<S> = { readonly [K in keyof S & string]: AccessRule };

/** Problems of an access table against its service definition (method keys to paths): a method without a rule, or a rule for no method. */
export function accessTableProblems(definition: Record<string, { path: string }>, access: Record<string, unknown>): string[] {
  const rules = new Set<unknown>(ACCESS_RULES);
  return [
    ...Object.keys(definition)
      .filter((key) => !rules.has(access[key]))
      .map((key) => `${definition[key].path} has no access rule`),
    ...Object.keys(access)
      .filter((key) => !(key in definition))
      .map((key) => `the access rule for ${key} names no method`),
  ];
}

/** The identities (certificate URI SANs) the 'admin' and 'internal' rules admit under mutual TLS; an empty list admits no one. */
export interface CallerLists {
  admin: readonly string[];
  internal: readonly string[];
}

/**
 * The URIs of a `subjectaltname` as Node's TLS reports it:
 * `URI:spiffe://carebook/booking, DNS:localhost`, with any value that holds
 * a comma or a quote written as a JSON string.
 */
export function uriSans(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const uris: string[] = [];
  for (const [, type, value] of subjectAltName.matchAll(/(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    if (type !== 'URI') continue;
    uris.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  return uris;
}

/** The caller's identities: the URI SANs of the client certificate the TLS handshake verified; none without one. */
export function callerIdentities(authContext: { sslPeerCertificate?: PeerCertificate } | null): string[] {
  return uriSans(authContext?.sslPeerCertificate?.subjectaltname);
}

/**
 * True when the caller's identity is listed for `rule` ('authenticated'
 * admits everyone). A certificate names one identity: one with several URI
 * SANs (or none) has none, as SPIFFE's X.509-SVID requires, so a workload
 * that got extra SANs signed cannot pass for another by one of them.
 */
export function isAllowed(rule: AccessRule, identities: readonly string[], callers: CallerLists): boolean {
  if (rule === 'authenticated') return true;
  const listed = rule === 'admin' ? callers.admin : callers.internal;
  return identities.length === 1 && listed.includes(identities[0]);
}

/** The refusal of an RPC to a caller whose certificate identity is not listed for its rule. */
export function callerNotAllowedError(rule: Exclude<AccessRule, 'authenticated'>, identities: readonly string[]): PermissionDeniedError {
  const caller = identities.length > 0 ? quote(identities.join(', ')) : '(a certificate without a URI SAN)';
  const list = rule === 'admin' ? 'admin' : 'internal';
  return new PermissionDeniedError(`the caller ${caller} is not among the ${list} callers of this method`, 'CALLER_NOT_ALLOWED', {
    caller,
    rule,
  });
}
