import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, type IssuedCertificate, type TestCa, type TestPki } from '@carebook/testing';
import { ConfigError, loadConfig } from './config';
import { callerList, certificateFile, clientTlsCheck, privateKeyFile, serverTlsCheck } from './tls-config';

const spec = {
  CERT: certificateFile('server certificate'),
  KEY: privateKeyFile('server key'),
  CA: certificateFile('client CA'),
  ADMINS: callerList('admins'),
  CLIENT_CA: certificateFile('server CA'),
  CLIENT_CERT: certificateFile('client certificate'),
  CLIENT_KEY: privateKeyFile('client key'),
  SERVER_NAME: { describe: 'server name', parse: (raw: string | undefined) => raw?.trim() || undefined },
};
const checks = [
  serverTlsCheck({ cert: 'CERT', key: 'KEY', ca: 'CA', callerLists: ['ADMINS'] }),
  clientTlsCheck({ ca: 'CLIENT_CA', cert: 'CLIENT_CERT', key: 'CLIENT_KEY', serverName: 'SERVER_NAME' }),
];
const load = (env: NodeJS.ProcessEnv) => loadConfig(spec, env, checks);

/** The problems of a configuration that must not load. */
function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

let pki: TestPki;
let ca: TestCa;
let server: IssuedCertificate;
let other: IssuedCertificate;
let garbage: string;

beforeAll(async () => {
  pki = await createTestPki();
  ca = await pki.createCa('ca');
  server = await ca.issue('server', { dns: ['localhost'] });
  other = await ca.issue('other', { uris: ['spiffe://carebook/other'] });
  garbage = join(pki.dir, 'garbage.pem');
  await writeFile(garbage, 'not PEM at all\n');
});

afterAll(() => pki?.remove());

describe('TLS settings', () => {
  it('are all optional: unset, the service runs in plaintext', () => {
    expect(load({})).toEqual({
      CERT: undefined,
      KEY: undefined,
      CA: undefined,
      ADMINS: [],
      CLIENT_CA: undefined,
      CLIENT_CERT: undefined,
      CLIENT_KEY: undefined,
      SERVER_NAME: undefined,
    });
  });

  it('read the files they name, and the caller lists', () => {
    const config = load({ CERT: server.certFile, KEY: server.keyFile, CA: ca.certFile, ADMINS: ' spiffe://carebook/admin , spiffe://x/y ', CLIENT_CA: ca.certFile });
    expect(config.CERT).toEqual(server.cert);
    expect(config.KEY).toEqual(server.key);
    expect(config.CA).toEqual(ca.cert);
    expect(config.ADMINS).toEqual(['spiffe://carebook/admin', 'spiffe://x/y']);
  });

  it('report every problem at once: missing and unreadable files, files of the wrong kind, halves of pairs, lists without mutual TLS', () => {
    const problems = problemsOf({
      CERT: join(pki.dir, 'missing.crt'),
      KEY: garbage,
      ADMINS: 'spiffe://carebook/admin,not a uri',
      CLIENT_CERT: other.certFile,
      SERVER_NAME: 'catalog',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^CERT names a file that cannot be read \(ENOENT\)/),
      expect.stringMatching(/^KEY names a file that holds no PEM private key/),
      expect.stringMatching(/^ADMINS must hold URIs .* got "not a uri"/),
      'ADMINS needs CA: caller identities come from client certificates, which only mutual TLS asks for',
      'CLIENT_CERT is set but CLIENT_KEY is not: a client certificate needs both',
      'CLIENT_CERT needs CLIENT_CA: TLS to the server is on only with the CA that verifies it',
      'SERVER_NAME needs CLIENT_CA: TLS to the server is on only with the CA that verifies it',
    ]);
  });

  it('refuse a certificate without its key, a CA without a certificate, and a key that is not the certificate’s', () => {
    expect(problemsOf({ CERT: server.certFile })).toEqual(['CERT is set but KEY is not: a server needs both for TLS']);
    expect(problemsOf({ CA: ca.certFile })).toEqual(['CA (mutual TLS) needs CERT and KEY']);
    expect(problemsOf({ CERT: server.certFile, KEY: other.keyFile })).toEqual(["CERT and KEY do not match: the key is not the certificate's"]);
    expect(problemsOf({ CLIENT_CA: ca.certFile, CLIENT_CERT: other.certFile, CLIENT_KEY: server.keyFile })).toEqual([
      "CLIENT_CERT and CLIENT_KEY do not match: the key is not the certificate's",
    ]);
  });

  it('refuse a certificate file that holds no certificate, without quoting more than its path', () => {
    expect(problemsOf({ CA: garbage, CERT: server.certFile, KEY: server.keyFile })).toEqual([
      expect.stringMatching(/^CA names a file that holds no PEM certificate: ".*garbage.pem" \(client CA\)$/),
    ]);
  });
});
