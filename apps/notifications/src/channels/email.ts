// E-mail through an SMTP server (a relay, a provider's submission port, or
// Mailpit in docker compose), over nodemailer's pooled transport.
//
// The pool keeps up to a few connections open between messages. When the
// server goes away, its connections close and leave the pool; a later send
// opens a new one, so the same sender recovers on its own once the server is
// back. A message whose connection closes under it is put back in the queue
// a few times by nodemailer itself; the timeout below bounds all of that.
import { createTransport } from 'nodemailer';
import type { Logger } from 'pino';
import { outageLog } from '@carebook/server';
import type { NotificationSender, OutgoingMessage, SendOutcome } from './port';

export interface EmailSenderOptions {
  /** smtp://host:port (or smtps://, with user:password@ if the server needs it). */
  smtpUrl: string;
  /** The From address, e.g. "carebook <no-reply@carebook.example>". */
  from: string;
  log: Logger;
  /** Bounds one send from queueing to the server's last reply. */
  timeoutMs?: number;
  /** Connections kept open: one per message the process has with providers at once (NOTIFY_SEND_CONCURRENCY), so none waits for another's. */
  maxConnections: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

// The extended status code after the reply code ("550 5.1.1 …"): it says why
// without the free text, which often quotes the recipient's address.
const ENHANCED_STATUS = /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b/;

interface SmtpError {
  name?: string;
  code?: string;
  originalCode?: string;
  responseCode?: number;
  permanent?: boolean;
  response?: string;
  command?: string;
}

/**
 * What a failed send means. An SMTP reply decides by its class as nodemailer
 * reads RFC 5321: 4xx (and 503, a session out of step) may go through later,
 * 5xx never will. With no reply, the server was not reached or did not finish
 * (refused, reset, timed out): retryable; but for an envelope nodemailer
 * itself refused, as no attempt can fix the address. The error names codes
 * only, never the server's text or an address.
 */
function smtpFailure(err: SmtpError, timeoutMs: number): SendOutcome & { accepted: false } {
  if (err.responseCode !== undefined) {
    const status = ENHANCED_STATUS.exec(err.response ?? '')?.[1];
    const error = ['SMTP', err.responseCode, status, err.command && `(${err.command})`].filter(Boolean).join(' ');
    return { accepted: false, retryable: !(err.permanent ?? err.responseCode >= 500), error };
  }
  if (err.name === 'AbortError') return { accepted: false, retryable: true, error: `SMTP timeout after ${timeoutMs} ms` };
  const code = err.originalCode ?? err.code ?? 'unknown error';
  return { accepted: false, retryable: err.code !== 'EENVELOPE', error: `SMTP ${code}` };
}

/** The e-mail channel: sends through the SMTP server at `smtpUrl`, with the message's own Message-ID. */
export function emailSender({ smtpUrl, from, log, timeoutMs = DEFAULT_TIMEOUT_MS, maxConnections }: EmailSenderOptions): NotificationSender {
  const transport = createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  const reachability = outageLog(log, 'smtp');

  return {
    async send(message: OutgoingMessage): Promise<SendOutcome> {
      try {
        await transport.sendMail({
          from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          messageId: message.messageId,
          signal: AbortSignal.timeout(timeoutMs),
        });
        reachability.succeeded();
        return { accepted: true };
      } catch (err) {
        const failure = err as SmtpError;
        const outcome = smtpFailure(failure, timeoutMs);
        // A reply, even a refusal, shows the server up; only its silence is an outage.
        if (failure.responseCode !== undefined) reachability.succeeded();
        else if (outcome.retryable) reachability.failed(outcome.error);
        return outcome;
      }
    },
    async close() {
      transport.close();
    },
  };
}
