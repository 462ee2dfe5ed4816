import {
  databaseUrl,
  integer,
  loadConfig,
  logLevel,
  MIN_INTERNAL_TOKEN_LENGTH,
  MIN_PAGE_TOKEN_KEY_LENGTH,
  secret,
  secretList,
  text,
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
  CATALOG_INTERNAL_TOKEN: secret('bearer token of internal callers (booking), who alone may claim and release slots; `npm start` generates one', MIN_INTERNAL_TOKEN_LENGTH),
  CAREBOOK_PAGE_TOKEN_KEY: secretList('HMAC keys of page tokens, comma-separated: the first signs, all verify; `npm start` generates one', MIN_PAGE_TOKEN_KEY_LENGTH),
  CATALOG_MAX_REQUEST_BYTES: integer('largest request accepted, in bytes', 256 * 1024, 1024, 4 * 1024 * 1024),
  LOG_LEVEL: logLevel,
  ...tracingConfigSpec,
};

export type CatalogConfig = ReturnType<typeof loadCatalogConfig>;

/** The catalog's configuration from the environment; throws ConfigError naming every bad variable. */
export function loadCatalogConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(catalogConfigSpec, env);
}
