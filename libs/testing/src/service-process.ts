import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { fileURLToPath } from 'node:url';
import { createHealthClient } from './health-client';
import { pollUntil } from './poll';
import { TEST_SECRETS_ENV } from './secrets';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** A service running as its own OS process, as in production. */
export interface ServiceProcess {
  readonly address: string;
  readonly pid: number | undefined;
  /** Sends `signal` and resolves with the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Everything the process wrote to stderr, for failure messages. */
  stderr(): string;
  /** The process's log lines at error level, for failure messages. */
  errorLogs(): string[];
}

/** Polls grpc.health.v1 at `address` until it reports SERVING; `credentials` for a server that speaks TLS. */
export async function waitUntilServing(address: string, timeoutMs = 30_000, credentials?: ChannelCredentials): Promise<void> {
  const health = createHealthClient(address, credentials);
  try {
    await pollUntil(`${address} SERVING`, async () => ((await health.check('', 1000)) === 'SERVING' ? true : undefined), timeoutMs, 100);
  } finally {
    health.close();
  }
}

/** What to run: the TypeScript source under tsx, or the production bundle (`dist/apps/<app>/main.mjs`, made by scripts/build-app.mjs) as the Dockerfiles run it. */
export type ServiceBuild = 'source' | 'bundle';

/**
 * Node's flags for a service's bundle, as the Dockerfiles' CMD passes them
 * (a test holds the two equal), sized for the 250 MB a service is given
 * (docs/performance.md, section 2). A service's live heap is small (about 33 MB
 * under 32 concurrent bookings, 45 MB in a rush of 1,000, by --trace-gc), but
 * V8 lets the old space grow to about 128 MB and the young generation to
 * 3 × 32 MB before collecting, on top of some 90 MB of code and buffers: a
 * booking process peaked at 265 MB. Capped at 3 × 8 MB and 96 MB, it peaked
 * at 182 MB with no measurable change in CPU per booking.
 */
export const PRODUCTION_NODE_FLAGS = ['--enable-source-maps', '--max-semi-space-size=8', '--max-old-space-size=96'];

const commandLine = (app: string, build: ServiceBuild) =>
  build === 'bundle' ? [...PRODUCTION_NODE_FLAGS, `dist/apps/${app}/main.mjs`] : ['--import', 'tsx', `apps/${app}/src/main.ts`];

/** Starts the service `app` with `env` on `port` and waits until it reports SERVING (asked with `credentials`, if the server speaks TLS). */
export async function startServiceProcess(
  app: 'catalog' | 'booking' | 'notifications',
  port: number,
  env: Record<string, string>,
  build: ServiceBuild = 'source',
  credentials?: ChannelCredentials,
): Promise<ServiceProcess> {
  const child: ChildProcess = spawn(process.execPath, commandLine(app, build), {
    cwd: root,
    // No metrics endpoint unless asked: replicas on one host would share its port.
    env: { ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn', BOOKING_METRICS_PORT: '0', CATALOG_METRICS_PORT: '0', NOTIFICATIONS_METRICS_PORT: '0', ...TEST_SECRETS_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // pino writes one JSON object a line; errors (level 50 and up) are kept for
  // failure messages, everything is echoed when TEST_LOG_LEVEL asks for it.
  const errorLogs: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (process.env.TEST_LOG_LEVEL) process.stdout.write(`${line}\n`);
    if (/"level":(5|6)\d/.test(line) && errorLogs.length < 100) errorLogs.push(line);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = `127.0.0.1:${port}`;
  try {
    await Promise.race([waitUntilServing(address, 30_000, credentials), exited.then((code) => Promise.reject(new Error(`${app} exited with ${code}: ${stderr}`)))]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address,
    pid: child.pid,
    stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    stderr: () => stderr,
    errorLogs: () => errorLogs,
  };
}
