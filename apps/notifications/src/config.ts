import {
  certificateFile,
  clientTlsCheck,
  clientTlsOf,
  databaseUrl,
  integer,
  loadConfig,
  logLevel,
  MIN_INTERNAL_TOKEN_LENGTH,
  MIN_PAGE_TOKEN_KEY_LENGTH,
  oneOf,
  optionalText,
  privateKeyFile,
  secretList,
  serverTlsCheck,
  serverTlsOf,
  text,
  tracingConfigSpec,
  type ClientTls,
  type ConfigCheck,
  type ServerTls,
} from '@carebook/server';
import { reminderOffsets } from './reminder-offsets';

export const SMS_ADAPTERS = ['webhook', 'log'] as const;

const notificationsConfigSpec = {
  NOTIFICATIONS_HOST: text('address to listen on', '127.0.0.1'),
  NOTIFICATIONS_PORT: integer('gRPC port', 50053, 0, 65535),
  NOTIFICATIONS_DATABASE_URL: databaseUrl('PostgreSQL URL of the notifications database (its job queue lives there too, in schema graphile_worker)'),
  NOTIFICATIONS_DB_POOL_SIZE: integer('PostgreSQL connections per process, shared by the API, the feed consumer and the delivery workers', 20, 4, 500),
  NOTIFICATIONS_SHUTDOWN_GRACE_MS: integer('how long in-flight calls and sends may finish on SIGTERM', 10_000, 0, 600_000),
  NOTIFICATIONS_MAX_REQUEST_BYTES: integer('largest request accepted, in bytes', 64 * 1024, 1024, 4 * 1024 * 1024),
  NOTIFICATIONS_METRICS_PORT: integer('port of the Prometheus metrics endpoint (GET /metrics, on NOTIFICATIONS_HOST); 0: none', 9466, 0, 65535),
  BOOKING_ADDRESS: text('gRPC target of the booking service', '127.0.0.1:50052'),
  BOOKING_INTERNAL_TOKEN: secretList("booking's internal credential: the first token is sent with every call to booking", MIN_INTERNAL_TOKEN_LENGTH),
  BOOKING_RPC_TIMEOUT_MS: integer('deadline of each unary call to booking', 2_000, 50, 60_000),
  CATALOG_ADDRESS: text('gRPC target of the catalog service', '127.0.0.1:50051'),
  CATALOG_RPC_TIMEOUT_MS: integer('deadline of each call to catalog', 2_000, 50, 60_000),
  NOTIFY_PLACE_CACHE_TTL_MS: integer("how long a doctor's and a clinic's names and address, once found in catalog, go into messages without asking again; 0: asked for every message", 60_000, 0, 3_600_000),
  CAREBOOK_PAGE_TOKEN_KEY: secretList('HMAC keys of page tokens, comma-separated: the first signs, all verify', MIN_PAGE_TOKEN_KEY_LENGTH),
  NOTIFY_SMTP_URL: optionalText('smtp:// or smtps:// URL of the mail server; unset: e-mail is off and every e-mail message is SKIPPED with CHANNEL_DISABLED'),
  NOTIFY_MAIL_FROM: text('From: address of e-mail messages', 'carebook <no-reply@carebook.invalid>'),
  NOTIFY_SMS_ADAPTER: oneOf('how SMS go out: webhook (an HTTP gateway) or log (written to the log, ids only; for development)', SMS_ADAPTERS, 'log'),
  NOTIFY_SMS_WEBHOOK_URL: optionalText('URL of the SMS gateway (NOTIFY_SMS_ADAPTER=webhook)'),
  NOTIFY_SMS_WEBHOOK_SECRET: optionalText('secret that signs requests to the SMS gateway (NOTIFY_SMS_ADAPTER=webhook)'),
  NOTIFY_REMINDER_OFFSETS: reminderOffsets('how long before the start each reminder is due, comma-separated, e.g. "24h,2h" (units ms, s, m, h, d)', '24h,2h'),
  NOTIFY_MAX_ATTEMPTS: integer('tries of one message before it is FAILED (outages of a provider, booking or catalog count)', 10, 1, 100),
  NOTIFY_RETRY_MAX_BACKOFF_MS: integer('longest wait between two tries of one message', 300_000, 100, 86_400_000),
  NOTIFY_JOB_CONCURRENCY: integer('send jobs one process runs at a time: they read booking and catalog side by side, and take turns with providers', 8, 1, 100),
  NOTIFY_SEND_CONCURRENCY: integer('messages one process has with providers at once, and SMTP connections it keeps: also the most a crash can duplicate', 1, 1, 100),
  NOTIFY_POLL_INTERVAL_MS: integer('how often idle delivery workers look for messages that became due: the most a message waits past its time', 1_000, 50, 60_000),
  NOTIFY_WORKER_STALE_MS: integer("a delivery worker silent this long is taken for dead and its messages are sent by others", 15_000, 1_000, 3_600_000),
  NOTIFY_FEED_MAX_BACKOFF_MS: integer("longest wait before reconnecting to booking's event feed", 10_000, 100, 600_000),
  NOTIFICATIONS_TLS_CERT_FILE: certificateFile("PEM certificate chain of notifications' server; with NOTIFICATIONS_TLS_KEY_FILE turns on TLS; unset: plaintext"),
  NOTIFICATIONS_TLS_KEY_FILE: privateKeyFile('PEM private key of NOTIFICATIONS_TLS_CERT_FILE'),
  NOTIFICATIONS_TLS_CA_FILE: certificateFile('PEM CA certificates of clients: set, every client must present a certificate they signed (mutual TLS)'),
  BOOKING_CLIENT_TLS_CA_FILE: certificateFile("PEM CA certificates that verify booking's server certificate; set, notifications calls booking over TLS; unset: plaintext"),
  BOOKING_CLIENT_TLS_CERT_FILE: certificateFile(
    "PEM certificate chain notifications presents to booking (mutual TLS); its URI SAN is notifications' identity, which booking's BOOKING_INTERNAL_CALLERS must list for the event feed",
  ),
  BOOKING_CLIENT_TLS_KEY_FILE: privateKeyFile('PEM private key of BOOKING_CLIENT_TLS_CERT_FILE'),
  BOOKING_CLIENT_TLS_SERVER_NAME: optionalText("name booking's certificate must carry, when BOOKING_ADDRESS's host is not it (an IP, several addresses)"),
  CATALOG_CLIENT_TLS_CA_FILE: certificateFile("PEM CA certificates that verify catalog's server certificate; set, notifications calls catalog over TLS; unset: plaintext"),
  CATALOG_CLIENT_TLS_CERT_FILE: certificateFile('PEM certificate chain notifications presents to catalog (mutual TLS)'),
  CATALOG_CLIENT_TLS_KEY_FILE: privateKeyFile('PEM private key of CATALOG_CLIENT_TLS_CERT_FILE'),
  CATALOG_CLIENT_TLS_SERVER_NAME: optionalText("name catalog's certificate must carry, when CATALOG_ADDRESS's host is not it (an IP, several addresses)"),
  LOG_LEVEL: logLevel,
  ...tracingConfigSpec,
};

type NotificationsSpecConfig = { [K in keyof typeof notificationsConfigSpec]: ReturnType<(typeof notificationsConfigSpec)[K]['parse']> };

const smtpUrlCheck: ConfigCheck<NotificationsSpecConfig> = ({ NOTIFY_SMTP_URL: url }) => {
  if (url === undefined) return [];
  try {
    if (['smtp:', 'smtps:'].includes(new URL(url).protocol)) return [];
  } catch {
    // reported below
  }
  return ['NOTIFY_SMTP_URL must be an smtp:// or smtps:// URL'];
};

const webhookCheck: ConfigCheck<NotificationsSpecConfig> = (config) => {
  if (config.NOTIFY_SMS_ADAPTER !== 'webhook') return [];
  const problems: string[] = [];
  if (!config.NOTIFY_SMS_WEBHOOK_URL) problems.push('NOTIFY_SMS_WEBHOOK_URL is required when NOTIFY_SMS_ADAPTER is webhook');
  else if (!/^https?:\/\//.test(config.NOTIFY_SMS_WEBHOOK_URL)) problems.push('NOTIFY_SMS_WEBHOOK_URL must be an http:// or https:// URL');
  if (!config.NOTIFY_SMS_WEBHOOK_SECRET) problems.push('NOTIFY_SMS_WEBHOOK_SECRET is required when NOTIFY_SMS_ADAPTER is webhook');
  return problems;
};

const checks: ConfigCheck<NotificationsSpecConfig>[] = [
  smtpUrlCheck,
  webhookCheck,
  // ListNotifications is open to every caller the transport admits: no caller lists.
  serverTlsCheck({ cert: 'NOTIFICATIONS_TLS_CERT_FILE', key: 'NOTIFICATIONS_TLS_KEY_FILE', ca: 'NOTIFICATIONS_TLS_CA_FILE', callerLists: [] }),
  clientTlsCheck({ ca: 'BOOKING_CLIENT_TLS_CA_FILE', cert: 'BOOKING_CLIENT_TLS_CERT_FILE', key: 'BOOKING_CLIENT_TLS_KEY_FILE', serverName: 'BOOKING_CLIENT_TLS_SERVER_NAME' }),
  clientTlsCheck({ ca: 'CATALOG_CLIENT_TLS_CA_FILE', cert: 'CATALOG_CLIENT_TLS_CERT_FILE', key: 'CATALOG_CLIENT_TLS_KEY_FILE', serverName: 'CATALOG_CLIENT_TLS_SERVER_NAME' }),
];

export type NotificationsConfig = ReturnType<typeof loadNotificationsConfig>;

/** The notifications service's configuration; throws ConfigError naming every bad variable. */
export function loadNotificationsConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(notificationsConfigSpec, env, checks);
}

/** TLS of notifications' own server, and of its clients to booking and catalog, from its configuration. */
export function notificationsTransport(config: NotificationsConfig): { tls?: ServerTls; bookingTls?: ClientTls; catalogTls?: ClientTls } {
  return {
    tls: serverTlsOf(config.NOTIFICATIONS_TLS_CERT_FILE, config.NOTIFICATIONS_TLS_KEY_FILE, config.NOTIFICATIONS_TLS_CA_FILE),
    bookingTls: clientTlsOf(config.BOOKING_CLIENT_TLS_CA_FILE, config.BOOKING_CLIENT_TLS_CERT_FILE, config.BOOKING_CLIENT_TLS_KEY_FILE, config.BOOKING_CLIENT_TLS_SERVER_NAME),
    catalogTls: clientTlsOf(config.CATALOG_CLIENT_TLS_CA_FILE, config.CATALOG_CLIENT_TLS_CERT_FILE, config.CATALOG_CLIENT_TLS_KEY_FILE, config.CATALOG_CLIENT_TLS_SERVER_NAME),
  };
}
