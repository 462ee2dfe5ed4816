// The channel adapters against real servers over real sockets: an SMTP sink
// and an SMS gateway that verifies signatures, each made to refuse, fail,
// stall or go away.
import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '@carebook/server';
import { startSmtpSink, type SmtpSink } from '@carebook/testing';
import { startSmsGateway, type SmsGateway } from './sms-gateway';
import { emailSender } from '../src/channels/email';
import { logSender } from '../src/channels/log';
import type { NotificationSender, OutgoingMessage } from '../src/channels/port';
import { smsWebhookSender, verifySmsSignature } from '../src/channels/sms-webhook';
import { messageIdOf } from '../src/messages/message-id';

const APPOINTMENT_ID = '0f8c2a4e-1b7d-4c3e-9a55-2d6f0e9b1c3a';
const SECRET = 'gateway-secret-of-the-test-run-0123456789';

/** A logger whose JSON records are kept for assertions. */
function capturedLogger(): { log: Logger; records: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { log: createLogger('notifications', 'info', destination), records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function email(kind: 'confirmation' | 'cancellation' = 'confirmation'): OutgoingMessage {
  return {
    channel: 'email',
    to: 'jane.roe@example.org',
    messageId: messageIdOf(APPOINTMENT_ID, kind, 'email'),
    subject: `Appointment ${kind}`,
    text: 'Hello Jane Roe,\n\nYour appointment is confirmed.\n',
  };
}

function sms(reminderOffsetMs = 3_600_000): OutgoingMessage {
  return {
    channel: 'sms',
    to: '+491701234567',
    messageId: messageIdOf(APPOINTMENT_ID, 'reminder', 'sms', reminderOffsetMs),
    subject: 'Reminder',
    text: 'Appointment reminder: Dr Anna Weber, Praxis Mitte, Mon 29 Mar 2027, 09:00 CEST (Europe/Berlin). Ref 0f8c2a4e',
  };
}

describe('e-mail channel', () => {
  let sink: SmtpSink;
  let sender: NotificationSender;
  const captured = capturedLogger();

  beforeAll(async () => {
    sink = await startSmtpSink();
    sender = emailSender({ smtpUrl: sink.url, from: 'carebook <no-reply@carebook.test>', log: captured.log, timeoutMs: 2_000, maxConnections: 2 });
  });
  afterAll(async () => {
    await sender.close();
    await sink.stop();
  });

  it('is accepted by the server, with the message id as its Message-ID header', async () => {
    const message = email();
    expect(await sender.send(message)).toEqual({ accepted: true });
    const [received] = sink.byMessageId(message.messageId);
    expect(received.envelope.to).toEqual(['jane.roe@example.org']);
    expect(received.headers.subject).toBe('Appointment confirmation');
    expect(received.headers['message-id']).toBe(`<${APPOINTMENT_ID}.confirmation.email@notifications.carebook>`);
    expect(received.raw).toContain('Your appointment is confirmed.');
  });

  it('is retryable after a 4xx reply, which names the code and not the recipient', async () => {
    const before = sink.messages.length;
    sink.refuseNext(1, 451);
    const outcome = await sender.send(email('cancellation'));
    expect(outcome).toEqual({ accepted: false, retryable: true, error: 'SMTP 451 (DATA)' });
    expect(sink.messages).toHaveLength(before);
  });

  it('is refused for good after a 5xx reply', async () => {
    sink.refuseNext(1, 550);
    expect(await sender.send(email('cancellation'))).toEqual({ accepted: false, retryable: false, error: 'SMTP 550 (DATA)' });
  });

  it('is retryable while the server is down, and the same sender delivers again once it is back on its port', async () => {
    await sink.stop();
    const whileDown = await sender.send(email('cancellation'));
    expect(whileDown).toEqual({ accepted: false, retryable: true, error: 'SMTP ECONNREFUSED' });

    await sink.start();
    const message = email('cancellation');
    expect(await sender.send(message)).toEqual({ accepted: true });
    expect(sink.byMessageId(message.messageId)).toHaveLength(1);

    const outage = captured.records().filter((r) => r.dependency === 'smtp');
    expect(outage.map((r) => r.msg)).toEqual(['dependency unavailable', 'dependency available again']);
    expect(JSON.stringify(outage)).not.toContain('jane.roe');
  });

  it('lets the sink count a message delivered twice', async () => {
    const message = email();
    const before = sink.duplicates();
    expect(await sender.send(message)).toEqual({ accepted: true });
    expect(sink.duplicates()).toBe(before + 1);
  });
});

describe('SMS webhook channel', () => {
  let gateway: SmsGateway;
  const captured = capturedLogger();
  const sender = () => smsWebhookSender({ url: gateway.url, secret: SECRET, log: captured.log, timeoutMs: 2_000 });

  beforeAll(async () => {
    gateway = await startSmsGateway({ secret: SECRET });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('is accepted with a signature the gateway verifies, keyed by the message id', async () => {
    const message = sms();
    expect(await sender().send(message)).toEqual({ accepted: true });
    expect(gateway.messages.at(-1)).toEqual({ id: message.messageId, to: '+491701234567', text: message.text, idempotencyKey: message.messageId });
    expect(gateway.badSignatures).toBe(0);
  });

  it('is retryable after 503, 429 and 408, and refused for good after 400', async () => {
    for (const [status, retryable] of [[503, true], [429, true], [408, true], [400, false]] as const) {
      gateway.failNext(1, status);
      expect(await sender().send(sms()), `status ${status}`).toEqual({ accepted: false, retryable, error: `SMS gateway ${status}` });
    }
  });

  it('is refused for good when signed with the wrong secret (401)', async () => {
    const before = gateway.messages.length;
    const wrong = smsWebhookSender({ url: gateway.url, secret: 'not-the-gateway-secret-0123456789', log: captured.log });
    expect(await wrong.send(sms())).toEqual({ accepted: false, retryable: false, error: 'SMS gateway 401' });
    expect(gateway.badSignatures).toBe(1);
    expect(gateway.messages).toHaveLength(before);
  });

  it('is retryable when the gateway does not answer in time', async () => {
    gateway.stallNext(1);
    const started = Date.now();
    const outcome = await smsWebhookSender({ url: gateway.url, secret: SECRET, log: captured.log, timeoutMs: 300 }).send(sms());
    expect(outcome).toEqual({ accepted: false, retryable: true, error: 'SMS gateway timeout after 300 ms' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('is retryable when nothing listens, and logs the outage without the number', async () => {
    const gone = await startSmsGateway({ secret: SECRET });
    await gone.stop();
    const outcome = await smsWebhookSender({ url: gone.url, secret: SECRET, log: captured.log }).send(sms());
    expect(outcome).toEqual({ accepted: false, retryable: true, error: 'SMS gateway unreachable: ECONNREFUSED' });
    const outage = captured.records().filter((r) => r.msg === 'dependency unavailable');
    expect(outage.length).toBeGreaterThan(0);
    expect(JSON.stringify(captured.records())).not.toContain('1701234567');
  });
});

describe('verifySmsSignature', () => {
  const body = '{"id":"<x@y>","to":"+491701234567","text":"hi"}';
  const now = Date.UTC(2027, 2, 29, 7);
  const timestamp = String(now / 1000);
  const signed = `v1=${createHmac('sha256', SECRET).update(`${timestamp}.${body}`).digest('hex')}`;

  it('accepts the signature of the timestamp and body, alone or beside one by another secret', () => {
    expect(verifySmsSignature(SECRET, timestamp, body, signed, 300, now)).toBe(true);
    expect(verifySmsSignature(SECRET, timestamp, Buffer.from(body), `v1=${'0'.repeat(64)}, ${signed}`, 300, now)).toBe(true);
  });

  it('refuses another body, another timestamp, a stale or future timestamp, and malformed headers', () => {
    expect(verifySmsSignature(SECRET, timestamp, body.replace('hi', 'ho'), signed, 300, now)).toBe(false);
    expect(verifySmsSignature(SECRET, String(now / 1000 + 1), body, signed, 300, now)).toBe(false);
    expect(verifySmsSignature(SECRET, timestamp, body, signed, 300, now + 301_000)).toBe(false);
    expect(verifySmsSignature(SECRET, timestamp, body, signed, 300, now - 301_000)).toBe(false);
    for (const header of [undefined, '', 'v1=', 'v0=' + signed.slice(3), signed.slice(0, -2), 'v1=zz']) {
      expect(verifySmsSignature(SECRET, timestamp, body, header, 300, now), String(header)).toBe(false);
    }
    expect(verifySmsSignature(SECRET, undefined, body, signed, 300, now)).toBe(false);
    expect(verifySmsSignature(SECRET, '1e9', body, signed, 300, now)).toBe(false);
  });
});

describe('log channel', () => {
  it('logs an SMS with its text and the number masked', async () => {
    const captured = capturedLogger();
    const message = sms();
    expect(await logSender(captured.log).send(message)).toEqual({ accepted: true });
    const [record] = captured.records();
    expect(record).toMatchObject({ msg: 'notification written to the log', channel: 'sms', messageId: message.messageId, to: '+49•••••67', text: message.text });
    expect(JSON.stringify(record)).not.toContain('1701234567');
  });

  it('logs an e-mail with the address masked and without its text, which greets the patient by name', async () => {
    const captured = capturedLogger();
    expect(await logSender(captured.log).send(email())).toEqual({ accepted: true });
    const [record] = captured.records();
    expect(record).toMatchObject({ channel: 'email', to: 'j•••@example.org', subject: 'Appointment confirmation' });
    expect(JSON.stringify(record)).not.toContain('jane.roe');
    expect(JSON.stringify(record)).not.toContain('Jane Roe');
  });
});
