import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySmsSignature } from '../../../apps/notifications/src/channels/sms-webhook';

// A real HTTP server standing in for an in-house SMS gateway, in tests of the
// SMS webhook channel: it checks each request's signature as a gateway must,
// keeps the messages it accepts, and can fail or stall the next few requests.

/** A message the gateway accepted. */
export interface GatewayMessage {
  id: string;
  to: string;
  text: string;
  idempotencyKey: string | undefined;
}

export interface SmsGateway {
  /** http://127.0.0.1:<port>/messages */
  readonly url: string;
  /** Every accepted message, in order of arrival. */
  readonly messages: readonly GatewayMessage[];
  /** Requests refused with 401 for a missing, wrong or stale signature. */
  readonly badSignatures: number;
  /** Answers the next `count` requests with `status` (503, 400 …) without looking at them. */
  failNext(count: number, status: number): void;
  /** Never answers the next `count` requests (until stop()), to test timeouts. */
  stallNext(count: number): void;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
const SIGNATURE_TOLERANCE_SECONDS = 300;

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseMessage(body: Buffer, idempotencyKey: string | undefined): GatewayMessage | undefined {
  try {
    const { id, to, text } = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    if (typeof id !== 'string' || typeof to !== 'string' || typeof text !== 'string') return undefined;
    return { id, to, text, idempotencyKey };
  } catch {
    return undefined;
  }
}

/** Starts an SMS gateway on 127.0.0.1, on a free port, that accepts requests signed with `secret`. */
export async function startSmsGateway({ secret }: { secret: string }): Promise<SmsGateway> {
  const messages: GatewayMessage[] = [];
  const scripted: (number | 'stall')[] = [];
  let badSignatures = 0;

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const next = scripted.shift();
    if (next === 'stall') return;
    if (next !== undefined) return void response.writeHead(next).end();
    const body = await readBody(request);
    if (!body) return void response.writeHead(413).end();
    const header = (name: string) => request.headers[name] as string | undefined;
    if (!verifySmsSignature(secret, header('x-carebook-timestamp'), body, header('x-carebook-signature'), SIGNATURE_TOLERANCE_SECONDS)) {
      badSignatures++;
      return void response.writeHead(401).end();
    }
    const message = request.headers['content-type'] === 'application/json' ? parseMessage(body, header('idempotency-key')) : undefined;
    if (!message) return void response.writeHead(400).end();
    messages.push(message);
    response.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: message.id }));
  }

  const server = createServer((request, response) => {
    answer(request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/messages`,
    messages,
    get badSignatures() {
      return badSignatures;
    },
    failNext(count, status) {
      scripted.push(...Array<number>(count).fill(status));
    },
    stallNext(count) {
      scripted.push(...Array<'stall'>(count).fill('stall'));
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Stalled requests hold their connections open; they end here, not at a timeout.
      server.closeAllConnections();
      await closed;
    },
  };
}
