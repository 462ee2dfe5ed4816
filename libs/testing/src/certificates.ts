import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

// Certificates for TLS tests, made by the openssl command at test time in a
// temporary directory: a CA, and leaf certificates it signs for servers and
// callers, named by a SPIFFE-style URI SAN. `openssl ca` is used rather than
// `x509 -req` because it sets any validity period (OpenSSL 3.0's x509 has no
// -not_before/-not_after), which makes an expired certificate possible.

const execFileAsync = promisify(execFile);

/** Runs openssl (or another tool), saying plainly when it is not installed: the TLS tests need it. */
async function run(command: string, args: string[]): Promise<void> {
  await execFileAsync(command, args).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new Error(`${command} is not installed; the TLS tests make their certificates with it (apt-get install ${command})`, { cause: err });
    throw err;
  });
}

/** A certificate and its key, as files and as the PEM they hold. */
export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

/** What a leaf certificate says: URI SANs (caller identities), DNS and IP SANs (server names), and whether it is long expired. */
export interface LeafSpec {
  uris?: string[];
  dns?: string[];
  ips?: string[];
  expired?: boolean;
}

/** A test certificate authority. */
export interface TestCa {
  /** The CA's own certificate, as a file and as PEM. */
  certFile: string;
  cert: Buffer;
  /** Signs a new key's certificate; `name` names its files. */
  issue(name: string, spec: LeafSpec): Promise<IssuedCertificate>;
}

/** A directory of test CAs; `remove` deletes it. */
export interface TestPki {
  dir: string;
  /** A new CA, under `name`. */
  createCa(name: string): Promise<TestCa>;
  remove(): Promise<void>;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** openssl's time format for `ca -startdate/-enddate`: YYYYMMDDHHMMSSZ. */
const opensslTime = (date: Date) => `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

const caConfig = (dir: string) => `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca]
default_ca = test_ca
[test_ca]
dir = ${dir}
database = ${dir}/index.txt
serial = ${dir}/serial
new_certs_dir = ${dir}
certificate = ${dir}/ca.crt
private_key = ${dir}/ca.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
`;

function leafExtensions(spec: LeafSpec): string {
  const sans = [...(spec.uris ?? []).map((u) => `URI:${u}`), ...(spec.dns ?? []).map((d) => `DNS:${d}`), ...(spec.ips ?? []).map((i) => `IP:${i}`)];
  return [
    '[leaf]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage = serverAuth,clientAuth',
    ...(sans.length > 0 ? [`subjectAltName = ${sans.join(',')}`] : []),
    '',
  ].join('\n');
}

/** Makes a temporary directory for test CAs and their certificates. */
export async function createTestPki(): Promise<TestPki> {
  const root = await mkdtemp(join(tmpdir(), 'carebook-pki-'));
  return {
    dir: root,
    async createCa(caName) {
      const dir = join(root, caName);
      await mkdir(dir);
      const config = join(dir, 'openssl.cnf');
      await writeFile(config, caConfig(dir));
      await writeFile(join(dir, 'index.txt'), '');
      await writeFile(join(dir, 'serial'), '1000\n');
      const certFile = join(dir, 'ca.crt');
      await run('openssl', ['req', '-x509', ...EC_KEY, '-config', config, '-extensions', 'ca_ext', '-subj', `/CN=${caName}`, '-days', '2', '-keyout', join(dir, 'ca.key'), '-out', certFile]);
      return {
        certFile,
        cert: await readFile(certFile),
        async issue(name, spec) {
          const keyFile = join(dir, `${name}.key`);
          const csr = join(dir, `${name}.csr`);
          const extFile = join(dir, `${name}.ext`);
          const out = join(dir, `${name}.crt`);
          await writeFile(extFile, leafExtensions(spec));
          await run('openssl', ['req', '-new', ...EC_KEY, '-config', config, '-subj', `/CN=${name}`, '-keyout', keyFile, '-out', csr]);
          const hour = 3_600_000;
          const [start, end] = spec.expired ? [new Date('2020-01-01T00:00:00Z'), new Date('2020-01-02T00:00:00Z')] : [new Date(Date.now() - hour), new Date(Date.now() + 24 * hour)];
          await run('openssl', ['ca', '-batch', '-config', config, '-notext', '-in', csr, '-out', out, '-extfile', extFile, '-extensions', 'leaf', '-startdate', opensslTime(start), '-enddate', opensslTime(end)]);
          return { certFile: out, keyFile, cert: await readFile(out), key: await readFile(keyFile) };
        },
      };
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
