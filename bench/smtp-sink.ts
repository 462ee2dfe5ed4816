// An SMTP server for the reminders scenario that notes when it accepted each
// message (libs/testing's sink keeps whole messages, but not when they came).
// It keeps only the Message-ID and the acceptance time, and runs in the load
// generator's process, so its CPU is counted there.
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

/** A message the sink accepted. */
export interface AcceptedMessage {
  /** The Message-ID header, angle brackets included; undefined without one. */
  messageId: string | undefined;
  /** When the sink answered 250 to the end of DATA, in epoch milliseconds (fractional). */
  acceptedAt: number;
}

export interface TimedSmtpSink {
  /** smtp://127.0.0.1:<port> */
  readonly url: string;
  /** Every accepted message, in order of acceptance. */
  readonly accepted: readonly AcceptedMessage[];
  /** Resolves true once `count` distinct Message-IDs that `matches` accepts have been accepted, false after `timeoutMs`. */
  waitForDistinct(matches: (messageId: string) => boolean, count: number, timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

/** The current time in epoch milliseconds, to a fraction of one. */
export const epochMs = () => performance.timeOrigin + performance.now();

const HEADER_END = Buffer.from('\r\n\r\n');
const MESSAGE_ID = /^message-id:[ \t]*(\S+)/im;

/** The Message-ID in the header block of a raw message (unfolded first: a long one comes on a line of its own). */
async function messageIdOf(stream: SMTPServerDataStream): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const end = raw.indexOf(HEADER_END);
  const headers = raw.subarray(0, end === -1 ? raw.length : end).toString('utf8').replace(/\r?\n[ \t]+/g, ' ');
  return MESSAGE_ID.exec(headers)?.[1];
}

interface Waiter {
  matches: (messageId: string) => boolean;
  count: number;
  seen: Set<string>;
  resolve: (done: boolean) => void;
}

/** Starts the sink on 127.0.0.1 at a free port: no TLS, no authentication, no reverse lookups. */
export async function startTimedSmtpSink(): Promise<TimedSmtpSink> {
  const accepted: AcceptedMessage[] = [];
  const waiters = new Set<Waiter>();
  const note = (messageId: string | undefined) => {
    accepted.push({ messageId, acceptedAt: epochMs() });
    if (messageId === undefined) return;
    for (const w of waiters) {
      if (!w.matches(messageId)) continue;
      w.seen.add(messageId);
      if (w.seen.size >= w.count) {
        waiters.delete(w);
        w.resolve(true);
      }
    }
  };
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    closeTimeout: 1,
    onData(stream, _session, callback) {
      messageIdOf(stream).then((id) => {
        note(id);
        callback(null);
      }, callback);
    },
  });
  // A sender that stops mid-session resets its connection; not the run's failure.
  server.on('error', () => undefined);
  const port = await new Promise<number>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port));
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    accepted,
    waitForDistinct(matches, count, timeoutMs) {
      const seen = new Set(accepted.flatMap((m) => (m.messageId !== undefined && matches(m.messageId) ? [m.messageId] : [])));
      if (seen.size >= count) return Promise.resolve(true);
      return new Promise((resolve) => {
        const waiter: Waiter = { matches, count, seen, resolve };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          resolve(false);
        }, timeoutMs);
        waiter.resolve = (done) => {
          clearTimeout(timer);
          resolve(done);
        };
        waiters.add(waiter);
      });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
