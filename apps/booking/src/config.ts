import {
  callerList,
  certificateFile,
  clientTlsCheck,
  clientTlsOf,
  databaseUrl,
  integer,
  loadConfig,
  logLevel,
  MIN_INTERNAL_TOKEN_LENGTH,
  MIN_PAGE_TOKEN_KEY_LENGTH,
  optionalText,
  privateKeyFile,
  secretList,
  serverTlsCheck,
  serverTlsOf,
  text,
  type ClientTls,
  type ConfigCheck,
  type ServerTls,
  tracingConfigSpec,
} from '@carebook/server';

const bookingConfigSpec = {
  BOOKING_HOST: text('address to listen on', '127.0.0.1'),
  BOOKING_PORT: integer('gRPC port', 50052, 0, 65535),
  BOOKING_DATABASE_URL: databaseUrl('PostgreSQL URL of the booking database; `npm start` sets it to the embedded server unless given'),
  BOOKING_DB_POOL_SIZE: integer('PostgreSQL connections per process', 20, 1, 500),
  BOOKING_SHUTDOWN_GRACE_MS: integer('how long in-flight calls may finish on SIGTERM', 10_000, 0, 600_000),
  CATALOG_ADDRESS: text('gRPC target of the catalog service; several as "ipv4:host1:port1,host2:port2"', '127.0.0.1:50051'),
  CATALOG_RPC_TIMEOUT_MS: integer('deadline of each call to catalog', 2_000, 50, 60_000),
  CATALOG_INTERNAL_TOKEN: secretList(
    "catalog's internal credential: the first token is sent with every call to catalog (catalog may accept others too, for rotation); `npm start` generates one",
    MIN_INTERNAL_TOKEN_LENGTH,
  ),
  BOOKING_INTERNAL_TOKEN: secretList(
    "booking's internal credential, which its event feed requires of callers (notifications); comma-separated, every one accepted, for rotation; `npm start` generates one",
    MIN_INTERNAL_TOKEN_LENGTH,
  ),
  BOOKING_INTERNAL_CALLERS: callerList('under mutual TLS, comma-separated certificate URI SANs that may read the event feed (with the internal token); empty: no one'),
  BOOKING_ADMIN_CALLERS: callerList("under mutual TLS, comma-separated certificate URI SANs of clinic staff's tools that may read a consultation's doctor link (GetConsultation); empty: no one"),
  BOOKING_EVENT_RETENTION_DAYS: integer('how long appointment events are kept; a cursor older than that gets CURSOR_EXPIRED', 30, 1, 3650),
  BOOKING_EVENT_SEQUENCE_INTERVAL_MS: integer('how often committed appointment events are given their feed positions', 20, 5, 10_000),
  BOOKING_EVENT_POLL_MS: integer('how often a feed watcher reads the feed without being told it grew (the fallback when notifications are lost)', 1_000, 10, 60_000),
  CAREBOOK_PAGE_TOKEN_KEY: secretList('HMAC keys of page tokens, comma-separated: the first signs, all verify; `npm start` generates one', MIN_PAGE_TOKEN_KEY_LENGTH),
  BOOKING_MAX_REQUEST_BYTES: integer('largest request accepted, in bytes', 64 * 1024, 1024, 4 * 1024 * 1024),
  BOOKING_RECONCILE_GRACE_MS: integer('age after which a pending appointment is settled by the slot state: its claim deadline plus the clock skew bound', 15_000, 100, 3_600_000),
  BOOKING_CLOCK_SKEW_BOUND_MS: integer("bound on how far the catalog and booking databases' clocks may differ", 1_000, 0, 60_000),
  BOOKING_RECONCILE_INTERVAL_MS: integer('how often pending appointments are reconciled', 5_000, 50, 3_600_000),
  BOOKING_RELEASE_INTERVAL_MS: integer('how often owed slot releases are retried', 1_000, 50, 3_600_000),
  BOOKING_RELEASE_MAX_BACKOFF_MS: integer('longest wait between two tries of one slot release', 60_000, 100, 3_600_000),
  BOOKING_VIDEO_BASE_URL: text('Jitsi Meet deployment that hosts consultation rooms, e.g. https://meet.example.org (a tenant: https://host/tenant)', 'https://meet.jit.si'),
  BOOKING_VIDEO_JWT_APP_ID: optionalText("the Jitsi deployment's app_id for token authentication; with BOOKING_VIDEO_JWT_SECRET, join links carry signed JWTs (the doctor's a moderator's); unset: a random token"),
  BOOKING_VIDEO_JWT_SECRET: optionalText("the Jitsi deployment's app_secret (HS256), at least 32 characters"),
  BOOKING_VIDEO_OPENS_BEFORE_MS: integer("how long before a video appointment's start its join links start to work", 900_000, 0, 86_400_000),
  BOOKING_VIDEO_GRACE_MS: integer("how long after a video appointment's end its join links keep working", 1_800_000, 0, 86_400_000),
  BOOKING_VIDEO_INTERVAL_MS: integer('how often consultation rooms owed to the video provider are retried (new ones are made as their booking reaches the event feed)', 1_000, 50, 3_600_000),
  BOOKING_VIDEO_MAX_BACKOFF_MS: integer('longest wait between two tries of one consultation room', 60_000, 100, 3_600_000),
  BOOKING_TAKEN_SLOT_MEMORY_MS: integer('how long a process answers SLOT_UNAVAILABLE from memory for a slot it saw taken; 0: always ask catalog', 1_000, 0, 60_000),
  BOOKING_METRICS_PORT: integer('port of the Prometheus metrics endpoint (GET /metrics, on BOOKING_HOST); 0: none', 9464, 0, 65535),
  BOOKING_TLS_CERT_FILE: certificateFile("PEM certificate chain of booking's server; with BOOKING_TLS_KEY_FILE turns on TLS; unset: plaintext"),
  BOOKING_TLS_KEY_FILE: privateKeyFile('PEM private key of BOOKING_TLS_CERT_FILE'),
  BOOKING_TLS_CA_FILE: certificateFile('PEM CA certificates of clients: set, every client must present a certificate they signed (mutual TLS)'),
  CATALOG_CLIENT_TLS_CA_FILE: certificateFile("PEM CA certificates that verify catalog's server certificate; set, booking calls catalog over TLS; unset: plaintext"),
  CATALOG_CLIENT_TLS_CERT_FILE: certificateFile("PEM certificate chain booking presents to catalog (mutual TLS); its URI SAN is booking's identity"),
  CATALOG_CLIENT_TLS_KEY_FILE: privateKeyFile('PEM private key of CATALOG_CLIENT_TLS_CERT_FILE'),
  CATALOG_CLIENT_TLS_SERVER_NAME: optionalText("name catalog's certificate must carry, when CATALOG_ADDRESS's host is not it (an IP, several addresses)"),
  LOG_LEVEL: logLevel,
  ...tracingConfigSpec,
};

type BookingSpecConfig = { [K in keyof typeof bookingConfigSpec]: ReturnType<(typeof bookingConfigSpec)[K]['parse']> };

// A claim's deadline is its appointment's create time plus the grace period
// less the skew bound; the reconciler waits the whole grace period, so it
// reads the slot only after the deadline by either database's clock. The
// window before the deadline must hold a claim and its retry.
const claimWindowCheck: ConfigCheck<BookingSpecConfig> = (config) => {
  const { BOOKING_RECONCILE_GRACE_MS: grace, BOOKING_CLOCK_SKEW_BOUND_MS: skew, CATALOG_RPC_TIMEOUT_MS: timeout } = config;
  if (grace === undefined || skew === undefined || timeout === undefined || grace - skew >= 2 * timeout) return [];
  return [
    `BOOKING_RECONCILE_GRACE_MS (${grace}) must be at least BOOKING_CLOCK_SKEW_BOUND_MS (${skew}) plus twice CATALOG_RPC_TIMEOUT_MS (${timeout})`,
  ];
};

/** HS256 wants a key as long as its hash (RFC 7518, section 3.2): 256 bits. */
const MIN_VIDEO_JWT_SECRET_LENGTH = 32;

// Links are made on the base URL: an absolute http(s) URL with no query or
// fragment, and a JWT needs both the app id and its secret.
const videoCheck: ConfigCheck<BookingSpecConfig> = (config) => {
  const problems: string[] = [];
  const base = config.BOOKING_VIDEO_BASE_URL;
  if (base !== undefined && !isRoomBaseUrl(base)) problems.push('BOOKING_VIDEO_BASE_URL must be an http:// or https:// URL without a query or fragment');
  const { BOOKING_VIDEO_JWT_APP_ID: appId, BOOKING_VIDEO_JWT_SECRET: secret } = config;
  if ((appId === undefined) !== (secret === undefined)) problems.push('BOOKING_VIDEO_JWT_APP_ID and BOOKING_VIDEO_JWT_SECRET are set together or not at all');
  if (secret !== undefined && secret.length < MIN_VIDEO_JWT_SECRET_LENGTH) {
    problems.push(`BOOKING_VIDEO_JWT_SECRET must be at least ${MIN_VIDEO_JWT_SECRET_LENGTH} characters`);
  }
  return problems;
};

function isRoomBaseUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
}

const checks: ConfigCheck<BookingSpecConfig>[] = [
  claimWindowCheck,
  videoCheck,
  serverTlsCheck({
    cert: 'BOOKING_TLS_CERT_FILE',
    key: 'BOOKING_TLS_KEY_FILE',
    ca: 'BOOKING_TLS_CA_FILE',
    callerLists: ['BOOKING_INTERNAL_CALLERS', 'BOOKING_ADMIN_CALLERS'],
  }),
  clientTlsCheck({
    ca: 'CATALOG_CLIENT_TLS_CA_FILE',
    cert: 'CATALOG_CLIENT_TLS_CERT_FILE',
    key: 'CATALOG_CLIENT_TLS_KEY_FILE',
    serverName: 'CATALOG_CLIENT_TLS_SERVER_NAME',
  }),
];

export type BookingConfig = ReturnType<typeof loadBookingConfig>;

/** The booking service's configuration; throws ConfigError naming every bad variable. */
export function loadBookingConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(bookingConfigSpec, env, checks);
}

/** TLS of booking's own server, and of its client to catalog, from its configuration. */
export function bookingTransport(config: BookingConfig): { tls?: ServerTls; catalogTls?: ClientTls } {
  return {
    tls: serverTlsOf(config.BOOKING_TLS_CERT_FILE, config.BOOKING_TLS_KEY_FILE, config.BOOKING_TLS_CA_FILE),
    catalogTls: clientTlsOf(
      config.CATALOG_CLIENT_TLS_CA_FILE,
      config.CATALOG_CLIENT_TLS_CERT_FILE,
      config.CATALOG_CLIENT_TLS_KEY_FILE,
      config.CATALOG_CLIENT_TLS_SERVER_NAME,
    ),
  };
}
