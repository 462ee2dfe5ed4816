// The one port every channel sits behind. An adapter delivers a rendered
// message to a provider (an SMTP server, an SMS gateway, the log) and says
// how it went; it never decides whether a message should go out.

/** How a message reaches the patient. */
export type Channel = 'email' | 'sms';

/** A message ready for a provider. */
export interface OutgoingMessage {
  channel: Channel;
  /** The e-mail address or phone number, looked up at send time and kept nowhere. */
  to: string;
  /**
   * Stable per (appointment, kind, reminder offset): a retry after a crash
   * sends the same id, so a duplicate can be recognised downstream
   * (messages/message-id.ts).
   */
  messageId: string;
  subject: string;
  text: string;
}

/**
 * What the provider answered:
 * - accepted: it took the message (for SMTP, a 2xx to the end of DATA);
 * - refused and retryable: try again later (unreachable, 4xx, 5xx of a gateway);
 * - refused for good: retrying cannot help (a 5xx to the recipient, a 4xx of a gateway).
 */
export type SendOutcome = { accepted: true } | { accepted: false; retryable: boolean; error: string };

/** A channel's adapter. */
export interface NotificationSender {
  send(message: OutgoingMessage): Promise<SendOutcome>;
  /** Releases connections; called once at shutdown. */
  close(): Promise<void>;
}
