import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

// A real SMTP server for tests of what sends e-mail: it keeps every message it
// accepts, can refuse the next few with a chosen reply, and can go down and
// come back on the same port, as a relay does in an outage.

/** A message the sink accepted. */
export interface SinkMessage {
  envelope: { from: string; to: string[] };
  /** Header names in lower case; a header given twice keeps its last value. */
  headers: Record<string, string>;
  /** The Message-ID header, angle brackets included; undefined without one. */
  messageId: string | undefined;
  /** The whole message as received: headers, blank line, body. */
  raw: string;
}

export interface SmtpSink {
  readonly port: number;
  /** smtp://127.0.0.1:<port> */
  readonly url: string;
  /** Every accepted message, in order of arrival. */
  readonly messages: readonly SinkMessage[];
  /** The accepted messages with this Message-ID. */
  byMessageId(messageId: string): SinkMessage[];
  /** Accepted messages whose Message-ID an earlier accepted message already had. */
  duplicates(): number;
  /** Answers the next `count` messages, at the end of DATA, with `code` (451, 550 …) and a text quoting their recipients, instead of accepting them. */
  refuseNext(count: number, code: number): void;
  /** Stops listening and closes open connections, with 421 as a shutting-down server does. */
  stop(): Promise<void>;
  /** Listens again, on the same port. */
  start(): Promise<void>;
}

/** Headers of a raw message: unfolded, names in lower case. */
function parseHeaders(raw: string): Record<string, string> {
  const end = raw.search(/\r?\n\r?\n/);
  const block = (end === -1 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

async function readAll(stream: SMTPServerDataStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts an SMTP sink on 127.0.0.1 (a free port unless `port` is given): no TLS, no authentication. */
export async function startSmtpSink(options: { port?: number } = {}): Promise<SmtpSink> {
  const messages: SinkMessage[] = [];
  const refusals: number[] = [];

  function createServer(): SMTPServer {
    const smtp = new SMTPServer({
      logger: false,
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      // stop() closes open connections at once instead of after 30 s.
      closeTimeout: 1,
      onData(stream, session, callback) {
        readAll(stream).then((raw) => {
          const code = refusals.shift();
          // Quoting the recipients, as real servers' refusals often do: the sender must not store or log this text.
          const recipients = session.envelope.rcptTo.map((r) => `<${r.address}>`).join(' ');
          if (code !== undefined) return callback(Object.assign(new Error(`${recipients}: refused by the test sink`), { responseCode: code }));
          const headers = parseHeaders(raw);
          const envelope = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
          };
          messages.push({ envelope, headers, messageId: headers['message-id'], raw });
          callback(null);
        }, callback);
      },
    });
    // A client that dies mid-session (a sender killed with -9) resets its
    // connection: SMTPServer reports that as an 'error' event, which unheard
    // would be an uncaught exception of the test process.
    smtp.on('error', () => {});
    return smtp;
  }

  let server = createServer();
  const listen = (port: number) => new Promise<number>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port));
  });
  const port = await listen(options.port ?? 0);
  let listening = true;

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    byMessageId: (messageId) => messages.filter((m) => m.messageId === messageId),
    duplicates() {
      const seen = new Set<string>();
      let count = 0;
      for (const { messageId } of messages) {
        if (messageId === undefined) continue;
        if (seen.has(messageId)) count++;
        seen.add(messageId);
      }
      return count;
    },
    refuseNext(count, code) {
      refusals.push(...Array<number>(count).fill(code));
    },
    async stop() {
      if (!listening) return;
      listening = false;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async start() {
      if (listening) return;
      server = createServer();
      await listen(port);
      listening = true;
    },
  };
}
