// The SMTP server `npm start` gives the notifications service: it accepts any
// mail and keeps each message verbatim as an .eml file, which any mail
// client opens. Local only: no TLS, no authentication.
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

export interface MailSink {
  port: number;
  stop(): Promise<void>;
}

export interface MailSinkOptions {
  /** Where the .eml files go; created if missing. */
  dir: string;
  host: string;
  /** 0 for a free port. */
  port: number;
  log: Logger;
}

const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
const MAX_ID_LENGTH = 100;

async function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The Message-ID of a raw message, made safe as part of a file name; "no-message-id" without one. */
function fileSafeMessageId(raw: Buffer): string {
  const headerEnd = raw.indexOf('\r\n\r\n');
  const headers = raw.subarray(0, headerEnd === -1 ? raw.length : headerEnd).toString('utf8');
  const id = /^message-id:\s*<?([^>\r\n]*)>?/im.exec(headers)?.[1].trim();
  return id ? id.replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, MAX_ID_LENGTH) : 'no-message-id';
}

/**
 * Writes `raw` under `dir` as <arrival time>-<message id>.eml, so the files
 * sort by arrival; a second copy of the same message in the same millisecond
 * gets a number rather than replacing the first.
 */
async function store(dir: string, raw: Buffer): Promise<string> {
  const base = `${new Date().toISOString().replace(/:/g, '-')}-${fileSafeMessageId(raw)}`;
  for (let copy = 1; ; copy++) {
    const file = join(dir, copy === 1 ? `${base}.eml` : `${base}-${copy}.eml`);
    try {
      await writeFile(file, raw, { flag: 'wx' });
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Starts the local SMTP sink on `host`:`port`; every message it accepts becomes an .eml file in `dir`. */
export async function startMailSink({ dir, host, port, log }: MailSinkOptions): Promise<MailSink> {
  await mkdir(dir, { recursive: true });
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    size: MAX_MESSAGE_BYTES,
    closeTimeout: 1_000,
    onData(stream, _session, callback) {
      readAll(stream)
        .then(async (raw) => {
          if (stream.sizeExceeded) return callback(Object.assign(new Error('message too large'), { responseCode: 552 }));
          log.info({ file: await store(dir, raw) }, 'mail stored');
          callback(null);
        })
        .catch((err: Error) => {
          log.error({ err }, 'mail not stored');
          callback(Object.assign(new Error('message not stored, try again later'), { responseCode: 451 }));
        });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = (server.server.address() as AddressInfo).port;
  log.info({ host, port: bound, dir }, 'mail sink listening');
  return {
    port: bound,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
