// SMS through an HTTP gateway (an in-house one in front of a provider). The
// contract, for whoever implements the gateway:
//
//   POST <url>
//   content-type: application/json
//   idempotency-key: <the message's Message-ID>        the same on every retry
//   x-carebook-timestamp: <unix seconds>
//   x-carebook-signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//   {"id": "<Message-ID>", "to": "+4917…", "text": "…"}
//
// Verify the signature over the raw body with verifySmsSignature (Stripe's
// scheme: the signed timestamp lets a gateway refuse a replayed request) and
// drop a second request with an idempotency key already sent. Answer 2xx once
// the message is taken; 408, 425, 429 or 5xx to be asked again later; any
// other 4xx to refuse the message for good.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { outageLog } from '@carebook/server';
import type { NotificationSender, OutgoingMessage, SendOutcome } from './port';

export interface SmsWebhookSenderOptions {
  url: string;
  /** Shared with the gateway; signs every request. */
  secret: string;
  log: Logger;
  /** Bounds one request, from connecting to the end of the answer's headers. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const SIGNATURE_SCHEME = 'v1';

// 4xx answers that say "not now" rather than "not this message".
const RETRYABLE_CLIENT_STATUSES = new Set([408, 425, 429]);

function signature(secret: string, timestamp: string, body: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

/**
 * True if `header` (x-carebook-signature) holds a v1 signature of `timestamp`
 * (x-carebook-timestamp) and the raw `body` by `secret`, and the timestamp is
 * within `toleranceSeconds` of now. Several comma-separated signatures are
 * allowed, so a sender can sign with an old and a new secret while they are rotated.
 */
export function verifySmsSignature(
  secret: string,
  timestamp: string | undefined,
  body: string | Uint8Array,
  header: string | undefined,
  toleranceSeconds: number,
  nowMs = Date.now(),
): boolean {
  if (!timestamp || !header || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = signature(secret, timestamp, body);
  return header.split(',').some((entry) => {
    const [scheme, hex] = entry.trim().split('=', 2);
    if (scheme !== SIGNATURE_SCHEME || !hex || !/^[0-9a-f]+$/i.test(hex)) return false;
    const given = Buffer.from(hex, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** The gateway's answer as an outcome; the error names the status only, never the answer's body. */
function outcomeOfStatus(status: number): SendOutcome {
  if (status >= 200 && status < 300) return { accepted: true };
  const retryable = status >= 500 || RETRYABLE_CLIENT_STATUSES.has(status);
  return { accepted: false, retryable, error: `SMS gateway ${status}` };
}

/** A request that got no answer: timed out, refused, reset, or not resolved. */
function unreachable(err: unknown, timeoutMs: number): SendOutcome & { accepted: false } {
  if (err instanceof Error && err.name === 'TimeoutError') return { accepted: false, retryable: true, error: `SMS gateway timeout after ${timeoutMs} ms` };
  const cause = err instanceof Error ? (err.cause as { code?: string } | undefined) : undefined;
  return { accepted: false, retryable: true, error: `SMS gateway unreachable: ${cause?.code ?? (err instanceof Error ? err.message : 'unknown error')}` };
}

/** The SMS channel: POSTs each message, signed, to the gateway at `url`. */
export function smsWebhookSender({ url, secret, log, timeoutMs = DEFAULT_TIMEOUT_MS }: SmsWebhookSenderOptions): NotificationSender {
  const reachability = outageLog(log, 'sms-gateway');

  return {
    async send(message: OutgoingMessage): Promise<SendOutcome> {
      const body = JSON.stringify({ id: message.messageId, to: message.to, text: message.text });
      const timestamp = String(Math.floor(Date.now() / 1000));
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': message.messageId,
            'x-carebook-timestamp': timestamp,
            'x-carebook-signature': `${SIGNATURE_SCHEME}=${signature(secret, timestamp, body).toString('hex')}`,
          },
          body,
          // A redirect would mean a wrong URL; it is answered, not followed with the message.
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const outcome = unreachable(err, timeoutMs);
        reachability.failed(outcome.error);
        return outcome;
      }
      // The body is not read: it could quote the number, and the status says
      // enough. Cancelling a body whose connection already broke may fail; the status stands.
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 500) reachability.failed(`SMS gateway ${response.status}`);
      else reachability.succeeded();
      return outcomeOfStatus(response.status);
    },
    async close() {},
  };
}
