import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { NOOP_METHOD } from './noop-server';

/** The bare gRPC server, running as its own process. */
export interface NoopServer {
  address: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Starts bench/noop-server.ts as a child process and waits for its port. */
export async function startNoopServer(): Promise<NoopServer> {
  const script = fileURLToPath(new URL('./noop-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`noop server exited with ${code}`)));
  });
  return {
    address: `127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A client of the no-op method on a channel of its own. */
export function noopClient(address: string): { ping(): Promise<void>; close(): void } {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const empty = Buffer.alloc(0);
  return {
    ping: () =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(NOOP_METHOD.path, NOOP_METHOD.requestSerialize, NOOP_METHOD.responseDeserialize, empty, (err) =>
          err ? reject(err) : resolve(),
        );
      }),
    close: () => client.close(),
  };
}
