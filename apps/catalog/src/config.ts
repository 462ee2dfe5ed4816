import {
  callerList,
  certificateFile,
  databaseUrl,
  integer,
  loadConfig,
  logLevel,
  MIN_INTERNAL_TOKEN_LENGTH,
  MIN_PAGE_TOKEN_KEY_LENGTH,
  privateKeyFile,
  secretList,
  serverTlsCheck,
  serverTlsOf,
  text,
  type CallerLists,
  type ServerTls,
  tracingConfigSpec,
} from '@carebook/server';

const catalogConfigSpec = {
  CATALOG_HOST: text('address to listen on', '127.0.0.1'),
  CATALOG_PORT: integer('gRPC port', 50051, 0, 65535),
  CATALOG_DATABASE_URL: databaseUrl('PostgreSQL URL of the catalog database; `npm start` sets it to the embedded server unless given'),
  CATALOG_DB_POOL_SIZE: integer('PostgreSQL connections per process', 20, 1, 500),
  CATALOG_SHUTDOWN_GRACE_MS: integer('how long in-flight calls may finish on SIGTERM', 10_000, 0, 600_000),
  CATALOG_SLOT_HORIZON_DAYS: integer('how many local days ahead schedules have materialised slots', 60, 1, 366),
  CATALOG_MATERIALISE_INTERVAL_MS: integer('how often the background loop extends schedules to the horizon', 3_600_000, 1_000, 86_400_000),
  CATALOG_HOLD_REOPEN_INTERVAL_MS: integer('how often slots whose hold lapsed are opened again, so that search shows them (claims never wait for it)', 10_000, 100, 3_600_000),
  CATALOG_INTERNAL_TOKEN: secretList(
    'bearer tokens of internal callers (booking), who alone may claim and release slots, comma-separated: each is accepted (rotation); `npm start` generates one',
    MIN_INTERNAL_TOKEN_LENGTH,
  ),
  CAREBOOK_PAGE_TOKEN_KEY: secretList('HMAC keys of page tokens, comma-separated: the first signs, all verify; `npm start` generates one', MIN_PAGE_TOKEN_KEY_LENGTH),
  CATALOG_MAX_REQUEST_BYTES: integer('largest request accepted, in bytes', 256 * 1024, 1024, 4 * 1024 * 1024),
  CATALOG_METRICS_PORT: integer('port of the Prometheus metrics endpoint (GET /metrics, on CATALOG_HOST); 0: none', 9465, 0, 65535),
  CATALOG_TLS_CERT_FILE: certificateFile("PEM certificate chain of catalog's server; with CATALOG_TLS_KEY_FILE turns on TLS; unset: plaintext"),
  CATALOG_TLS_KEY_FILE: privateKeyFile('PEM private key of CATALOG_TLS_CERT_FILE'),
  CATALOG_TLS_CA_FILE: certificateFile('PEM CA certificates of clients: set, every client must present a certificate they signed (mutual TLS)'),
  CATALOG_ADMIN_CALLERS: callerList('under mutual TLS, comma-separated certificate URI SANs that may write clinics, doctors, schedules and slots; empty: no one'),
  CATALOG_CLAIM_CALLERS: callerList('under mutual TLS, comma-separated certificate URI SANs that may claim and release slots (with the internal token); empty: no one'),
  LOG_LEVEL: logLevel,
  ...tracingConfigSpec,
};

const tlsCheck = serverTlsCheck({
  cert: 'CATALOG_TLS_CERT_FILE',
  key: 'CATALOG_TLS_KEY_FILE',
  ca: 'CATALOG_TLS_CA_FILE',
  callerLists: ['CATALOG_ADMIN_CALLERS', 'CATALOG_CLAIM_CALLERS'],
});

export type CatalogConfig = ReturnType<typeof loadCatalogConfig>;

/** The catalog's configuration from the environment; throws ConfigError naming every bad variable. */
export function loadCatalogConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(catalogConfigSpec, env, [tlsCheck]);
}

/** The server's TLS settings and caller lists from its configuration. */
export function catalogTransport(config: CatalogConfig): { tls?: ServerTls; callers: CallerLists } {
  return {
    tls: serverTlsOf(config.CATALOG_TLS_CERT_FILE, config.CATALOG_TLS_KEY_FILE, config.CATALOG_TLS_CA_FILE),
    callers: { admin: config.CATALOG_ADMIN_CALLERS, internal: config.CATALOG_CLAIM_CALLERS },
  };
}
