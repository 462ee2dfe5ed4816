import type { Logger } from '@carebook/server';
import { emailSender } from '../channels/email';
import { logSender } from '../channels/log';
import { smsWebhookSender } from '../channels/sms-webhook';
import type { NotificationsConfig } from '../config';
import type { ChannelSenders } from './send-notification';

/**
 * Each channel's sender as configured. Without NOTIFY_SMTP_URL e-mail is
 * off: the service still starts (SMS alone is a valid deployment, and so is a
 * development machine without a mail server), and each e-mail message is
 * SKIPPED with CHANNEL_DISABLED, so support staff can see why none went out.
 * Said once at start-up, at warn.
 */
export function channelSenders(config: NotificationsConfig, log: Logger): ChannelSenders {
  const channelLog = log.child({ component: 'channel' });
  if (!config.NOTIFY_SMTP_URL) log.warn('NOTIFY_SMTP_URL is unset: e-mail is off, e-mail messages are skipped (CHANNEL_DISABLED)');
  return {
    ...(config.NOTIFY_SMTP_URL && { email: emailSender({ smtpUrl: config.NOTIFY_SMTP_URL, from: config.NOTIFY_MAIL_FROM, log: channelLog, maxConnections: config.NOTIFY_SEND_CONCURRENCY }) }),
    sms:
      config.NOTIFY_SMS_ADAPTER === 'webhook'
        ? smsWebhookSender({ url: config.NOTIFY_SMS_WEBHOOK_URL!, secret: config.NOTIFY_SMS_WEBHOOK_SECRET!, log: channelLog })
        : logSender(channelLog),
  };
}
