// The log as a channel, for `npm start` and other local runs: SMS go to the
// log instead of a gateway. The recipient is masked, and the text is logged
// for SMS only: an SMS carries no patient name (messages/render.ts), an
// e-mail greets the patient by name.
import type { Logger } from 'pino';
import type { NotificationSender, OutgoingMessage, SendOutcome } from './port';

const MASK = '•••••';

/** `+49•••••67` for a phone number, `a•••@example.org` for an e-mail address: enough to tell two apart, not to reach anyone. */
export function maskRecipient(to: string): string {
  const at = to.lastIndexOf('@');
  if (at > 0) return `${to[0]}•••${to.slice(at)}`;
  const digits = to.replace(/[^\d+]/g, '');
  return digits.length > 6 ? `${digits.slice(0, 3)}${MASK}${digits.slice(-2)}` : MASK;
}

/** The log channel: every message is accepted and logged at info, its recipient masked. */
export function logSender(log: Logger): NotificationSender {
  return {
    async send(message: OutgoingMessage): Promise<SendOutcome> {
      const { channel, messageId, subject } = message;
      const text = channel === 'sms' ? message.text : undefined;
      log.info({ channel, messageId, to: maskRecipient(message.to), subject, text }, 'notification written to the log');
      return { accepted: true };
    },
    async close() {},
  };
}
