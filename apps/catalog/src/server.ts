import { CatalogServiceService } from '@carebook/proto/catalog';
import type { Registry } from 'prom-client';
import {
  databaseGauge,
  pageTokens,
  pingDatabase,
  registration,
  runPeriodically,
  serveServiceMetrics,
  startGrpcServer,
  type CallerLists,
  type CarebookGrpcServer,
  type Logger,
  type ServerTls,
  type SqlPool,
} from '@carebook/server';
import { CATALOG_ACCESS } from './access';
import { clinicHandlers } from './clinics/handlers';
import { clinicsRepo } from './clinics/repo';
import { clinicsService } from './clinics/service';
import type { CatalogPrisma } from './db';
import { doctorHandlers } from './doctors/handlers';
import { doctorsRepo } from './doctors/repo';
import { doctorsService } from './doctors/service';
import { scheduleHandlers } from './schedules/handlers';
import { slotMaterialiser, type SlotMaterialiser } from './schedules/materialiser';
import { schedulesRepo } from './schedules/repo';
import { schedulesService } from './schedules/service';
import { slotHandlers } from './slots/handlers';
import { slotsRepo } from './slots/repo';
import { slotsService } from './slots/service';

export const CATALOG_SERVICE_NAME = 'carebook.catalog.v1.CatalogService';
export const CATALOG_ERROR_DOMAIN = 'catalog.carebook.dev';

export interface CatalogDeps {
  prisma: CatalogPrisma;
  /** The pool under `prisma`, for the prepared statements of claims and searches. */
  sql: SqlPool;
  log: Logger;
  /** Where the process's metrics are registered (metrics-server.ts). */
  metrics: Registry;
  /** The clock of schedules and their materialisation; tests pass a fixed one. */
  now?: () => Date;
}

export interface CatalogServerOptions {
  host: string;
  port: number;
  shutdownGraceMs: number;
  /** The bearer tokens of internal callers (CATALOG_INTERNAL_TOKEN), any of which is accepted: only they may claim and release slots, or see claim ids. */
  internalTokens: readonly string[];
  /** Keys of page tokens (CAREBOOK_PAGE_TOKEN_KEY): the first signs, all verify. */
  pageTokenKeys: string[];
  /** The largest request accepted (CATALOG_MAX_REQUEST_BYTES); default DEFAULT_CATALOG_MAX_REQUEST_BYTES. */
  maxRequestBytes?: number;
  /** How many local days ahead schedules have slots (CATALOG_SLOT_HORIZON_DAYS); default 60. */
  slotHorizonDays?: number;
  /** How often the background loop extends schedules to the horizon (CATALOG_MATERIALISE_INTERVAL_MS); default an hour. */
  materialiseIntervalMs?: number;
  /** How often lapsed slot holds are opened again for search (CATALOG_HOLD_REOPEN_INTERVAL_MS); default 10 s. */
  holdReopenIntervalMs?: number;
  /** Where to serve Prometheus metrics (port 0 picks one); unset: not served. */
  metricsAddress?: { host: string; port: number };
  /** TLS (CATALOG_TLS_CERT_FILE, CATALOG_TLS_KEY_FILE), mutual with a CA (CATALOG_TLS_CA_FILE); plaintext without. */
  tls?: ServerTls;
  /** Under mutual TLS, who may write (CATALOG_ADMIN_CALLERS) and claim (CATALOG_CLAIM_CALLERS); default no one. */
  callers?: CallerLists;
}

/** The running catalog: its gRPC server, the loops that materialise schedule slots and reopen lapsed holds, and its metrics endpoint. */
export interface RunningCatalog extends CarebookGrpcServer {
  materialiser: SlotMaterialiser;
  /** Runs the pass that reopens lapsed holds now (tests, which may not wait for the loop). */
  reopenLapsedHolds(): Promise<void>;
  /** The port of the metrics endpoint, if served. */
  metricsPort: number | undefined;
}

export const DEFAULT_SLOT_HORIZON_DAYS = 60;
/** Room for the largest valid request, 1,000 slots in one CreateSlots (about 30 KB), many times over. */
export const DEFAULT_CATALOG_MAX_REQUEST_BYTES = 256 * 1024;
export const DEFAULT_MATERIALISE_INTERVAL_MS = 3_600_000;
export const DEFAULT_HOLD_REOPEN_INTERVAL_MS = 10_000;
/** Slots whose hold lapsed, opened again per statement. */
const HOLD_REOPEN_BATCH_SIZE = 1000;

/** Builds and starts the catalog gRPC server on `deps`; listens on `options.port` (0 picks one). */
export async function startCatalogServer(deps: CatalogDeps, options: CatalogServerOptions): Promise<RunningCatalog> {
  const clinics = clinicsService(clinicsRepo(deps.prisma));
  const doctors = doctorsService(doctorsRepo(deps.prisma, deps.sql), clinics);
  const slots = slotsService(slotsRepo(deps.prisma, deps.sql), doctors);
  const now = deps.now ?? (() => new Date());
  const materialiser = slotMaterialiser(deps.prisma, { horizonDays: options.slotHorizonDays ?? DEFAULT_SLOT_HORIZON_DAYS, now, log: deps.log });
  const schedules = schedulesService({ repo: schedulesRepo(deps.prisma), materialiser, doctors, clinics, now });
  const tokens = pageTokens(options.pageTokenKeys);
  const handlers = {
    ...clinicHandlers(clinics, tokens),
    ...doctorHandlers(doctors, tokens),
    ...slotHandlers(slots, tokens),
    ...scheduleHandlers(schedules, tokens),
  };
  const server = await startGrpcServer(
    {
      log: deps.log,
      errorDomain: CATALOG_ERROR_DOMAIN,
      services: [registration(CATALOG_SERVICE_NAME, CatalogServiceService, handlers, CATALOG_ACCESS)],
      checkReady: () => pingDatabase(deps.prisma),
      shutdownGraceMs: options.shutdownGraceMs,
      maxRequestBytes: options.maxRequestBytes ?? DEFAULT_CATALOG_MAX_REQUEST_BYTES,
      internalTokens: options.internalTokens,
      metrics: deps.metrics,
      tls: options.tls,
      callers: options.callers,
    },
    options.host,
    options.port,
  );
  databaseGauge(
    deps.metrics,
    'carebook_catalog_materialisation_lag_days',
    "Local days by which the furthest-behind schedule's slots stop short of the horizon (0: every schedule is up to date).",
    () => materialiser.lagDays(),
  );
  const metrics = await serveServiceMetrics(deps.metrics, {
    pool: deps.sql,
    dependencies: { database: server.database },
    address: options.metricsAddress,
    log: deps.log,
  });
  // Schedule changes materialise their own slots; this loop extends every
  // schedule as the horizon moves on (one local day at a time), at start-up
  // and then every interval, on every replica (each schedule is locked).
  const materialiseLoop = runPeriodically(
    'materialise schedule slots',
    options.materialiseIntervalMs ?? DEFAULT_MATERIALISE_INTERVAL_MS,
    () => materialiser.materialiseDue(),
    deps.log,
  );
  // Visibility only: a claim treats a lapsed hold as open whether or not this
  // has run; search reads open slots only, and shows it once it has.
  const reopenLoop = runPeriodically(
    'reopen lapsed slot holds',
    options.holdReopenIntervalMs ?? DEFAULT_HOLD_REOPEN_INTERVAL_MS,
    async () => {
      while ((await slots.reopenLapsedHolds(HOLD_REOPEN_BATCH_SIZE)) === HOLD_REOPEN_BATCH_SIZE);
    },
    deps.log,
  );
  return {
    port: server.port,
    database: server.database,
    materialiser,
    reopenLapsedHolds: () => reopenLoop.runNow(),
    metricsPort: metrics?.port,
    async shutdown() {
      await Promise.all([materialiseLoop.stop(), reopenLoop.stop()]);
      await server.shutdown();
      await metrics?.close();
    },
  };
}
