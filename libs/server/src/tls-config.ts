import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { BadValue, isSet, type ConfigCheck, type EnvVar } from './config';
import { quote } from './validation';

// TLS settings from the environment: files named by variables, read and
// parsed at start-up, so a missing file, a key that is not a key or a
// certificate without its key is a configuration error, reported with every
// other one, rather than a failure at the first call.

/** A server's TLS: its certificate chain and key; with `ca`, clients must present a certificate that CA signed (mutual TLS). */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** A client's TLS: the CA that signed the server's certificate; its own certificate and key, for mutual TLS; the name the server's certificate must carry, if not the target's host. */
export interface ClientTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  serverName?: string;
}

/** The longest caller identity (a certificate's URI SAN) a caller list may hold. */
const MAX_IDENTITY_LENGTH = 256;

function readFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new BadValue(`names a file that cannot be read (${code}): ${quote(path)}`);
  }
}

/** An optional PEM file that `check` can parse (it throws otherwise); undefined when unset. */
function pemFile(describe: string, check: (pem: Buffer) => unknown, holdsNo: string): EnvVar<Buffer | undefined> {
  return {
    describe,
    parse(raw) {
      const path = raw?.trim();
      if (!path) return undefined;
      const pem = readFile(path);
      try {
        check(pem);
      } catch {
        throw new BadValue(`names a file that holds no ${holdsNo}: ${quote(path)}`);
      }
      return pem;
    },
  };
}

/** An optional file of PEM certificates (a chain or a CA bundle); undefined when unset. */
export function certificateFile(describe: string): EnvVar<Buffer | undefined> {
  return pemFile(describe, (pem) => new X509Certificate(pem), 'PEM certificate');
}

/** An optional file holding a PEM private key; undefined when unset. The error never quotes the key. */
export function privateKeyFile(describe: string): EnvVar<Buffer | undefined> {
  return pemFile(describe, (pem) => createPrivateKey(pem), 'PEM private key (or an encrypted one)');
}

/** Comma-separated caller identities, certificate URI SANs such as spiffe://carebook/booking; empty when unset. */
export function callerList(describe: string): EnvVar<string[]> {
  return {
    describe,
    parse(raw) {
      const values = (raw ?? '').split(',').map((v) => v.trim()).filter(Boolean);
      for (const value of values) {
        if (value.length > MAX_IDENTITY_LENGTH || /[\s\p{Cc}]/u.test(value) || !URL.canParse(value))
          throw new BadValue(`must hold URIs (certificate URI SANs, e.g. spiffe://carebook/booking) of at most ${MAX_IDENTITY_LENGTH} characters, got ${quote(value)}`);
      }
      return values;
    },
  };
}

/** "X and Y": the problem of a certificate whose key does not match it, if both parsed. */
function keyMismatch(cert: Buffer | undefined, key: Buffer | undefined, names: string): string[] {
  if (!cert || !key) return [];
  try {
    createSecureContext({ cert, key });
    return [];
  } catch {
    return [`${names} do not match: the key is not the certificate's`];
  }
}

/** The variables of a server's TLS and of the caller lists that only mutual TLS can check. */
export interface ServerTlsNames {
  cert: string;
  key: string;
  ca: string;
  callerLists: string[];
}

/** Cross-variable rules of a server's TLS: a certificate needs its key and the reverse, a CA needs both, caller lists need the CA. */
export function serverTlsCheck(names: ServerTlsNames): ConfigCheck<Record<string, unknown>> {
  return (config, env) => {
    const problems: string[] = [];
    const [cert, key, ca] = [isSet(env, names.cert), isSet(env, names.key), isSet(env, names.ca)];
    if (cert !== key) problems.push(`${cert ? names.cert : names.key} is set but ${cert ? names.key : names.cert} is not: a server needs both for TLS`);
    if (ca && !(cert && key)) problems.push(`${names.ca} (mutual TLS) needs ${names.cert} and ${names.key}`);
    for (const list of names.callerLists) {
      if (isSet(env, list) && !ca) problems.push(`${list} needs ${names.ca}: caller identities come from client certificates, which only mutual TLS asks for`);
    }
    problems.push(...keyMismatch(config[names.cert] as Buffer | undefined, config[names.key] as Buffer | undefined, `${names.cert} and ${names.key}`));
    return problems;
  };
}

/** The variables of a client's TLS. */
export interface ClientTlsNames {
  ca: string;
  cert: string;
  key: string;
  serverName: string;
}

/** Cross-variable rules of a client's TLS: a certificate needs its key and the reverse; either, and the server name, need the CA. */
export function clientTlsCheck(names: ClientTlsNames): ConfigCheck<Record<string, unknown>> {
  return (config, env) => {
    const problems: string[] = [];
    const [ca, cert, key] = [isSet(env, names.ca), isSet(env, names.cert), isSet(env, names.key)];
    if (cert !== key) problems.push(`${cert ? names.cert : names.key} is set but ${cert ? names.key : names.cert} is not: a client certificate needs both`);
    for (const name of [names.cert, names.key, names.serverName]) {
      if (isSet(env, name) && !ca) problems.push(`${name} needs ${names.ca}: TLS to the server is on only with the CA that verifies it`);
    }
    problems.push(...keyMismatch(config[names.cert] as Buffer | undefined, config[names.key] as Buffer | undefined, `${names.cert} and ${names.key}`));
    return problems;
  };
}

/** A server's TLS from its parsed files; undefined (plaintext) without a certificate. */
export function serverTlsOf(cert: Buffer | undefined, key: Buffer | undefined, ca: Buffer | undefined): ServerTls | undefined {
  return cert && key ? { cert, key, ca } : undefined;
}

/** A client's TLS from its parsed settings; undefined (plaintext) without a CA. */
export function clientTlsOf(ca: Buffer | undefined, cert: Buffer | undefined, key: Buffer | undefined, serverName: string | undefined): ClientTls | undefined {
  return ca ? { ca, cert, key, serverName } : undefined;
}
