import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHealthClient } from './health-client';
import { pollUntil } from './poll';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** A service running as its own OS process, as in production. */
export interface ServiceProcess {
  readonly address: string;
  readonly pid: number | undefined;
  /** Sends `signal` and resolves with the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Everything the process wrote to stderr, for failure messages. */
  stderr(): string;
}

/** Polls grpc.health.v1 at `address` until it reports SERVING. */
export async function waitUntilServing(address: string, timeoutMs = 30_000): Promise<void> {
  const health = createHealthClient(address);
  try {
    await pollUntil(`${address} SERVING`, async () => ((await health.check('', 1000)) === 'SERVING' ? true : undefined), timeoutMs, 100);
  } finally {
    health.close();
  }
}

/** Starts `apps/<app>/src/main.ts` with `env` on `port` and waits until it reports SERVING. */
export async function startServiceProcess(app: 'catalog' | 'booking', port: number, env: Record<string, string>): Promise<ServiceProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', `apps/${app}/src/main.ts`], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn', ...env },
    stdio: ['ignore', process.env.TEST_LOG_LEVEL ? 'inherit' : 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = `127.0.0.1:${port}`;
  try {
    await Promise.race([waitUntilServing(address), exited.then((code) => Promise.reject(new Error(`${app} exited with ${code}: ${stderr}`)))]);
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
  };
}
