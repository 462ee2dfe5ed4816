import { BookingServiceService } from '@carebook/proto/booking';
import type { CatalogClient } from '@carebook/proto/catalog';
import type { Registry } from 'prom-client';
import {
  outageLog,
  pageTokens,
  pingDatabase,
  registration,
  runPeriodically,
  serveServiceMetrics,
  startGrpcServer,
  type Logger,
  type ServerTls,
  type SqlPool,
} from '@carebook/server';
import { BOOKING_ACCESS } from './access';
import { appointmentHandlers } from './appointments/handlers';
import { pendingReconciler, type PendingReconciler } from './appointments/reconciler';
import { appointmentsRepo } from './appointments/repo';
import { appointmentsService } from './appointments/service';
import { holdSettlement } from './appointments/hold-settlement';
import { appointmentSettlement } from './appointments/settlement';
import { slotGate } from './appointments/slot-gate';
import { catalogGateway } from './catalog-gateway';
import { conflictsRepo, type ConflictsRepo } from './conflicts/repo';
import { conflictResolver } from './conflicts/resolver';
import { roomDispatcher } from './consultations/dispatcher';
import { consultationHandlers } from './consultations/handlers';
import { consultationRecorder } from './consultations/recorder';
import { consultationsRepo } from './consultations/repo';
import { consultationsService } from './consultations/service';
import type { VideoRoomProvider } from './consultations/video-room-provider';
import type { BookingPrisma } from './db';
import { patientHandlers } from './patients/handlers';
import { patientsRepo } from './patients/repo';
import { patientsService } from './patients/service';
import { releaseDispatcher, type ReleaseDispatcher } from './releases/dispatcher';
import { registerBookingMetrics } from './metrics';
import { appointmentFeed } from './events/feed';
import { feedSignal } from './events/feed-signal';
import { eventHandlers } from './events/handlers';
import { appointmentEventsRepo } from './events/repo';
import { eventSequencer, type EventSequencer } from './events/sequencer';
import { releasesRepo } from './releases/repo';

export const BOOKING_SERVICE_NAME = 'carebook.booking.v1.BookingService';
export const BOOKING_ERROR_DOMAIN = 'booking.carebook.dev';

export interface BookingDeps {
  prisma: BookingPrisma;
  /** The pool under `prisma`, for the booking path's prepared statements. */
  sql: SqlPool;
  /** The process's one long-lived catalog client. */
  catalog: CatalogClient;
  log: Logger;
  /** Where the process's metrics are registered (metrics-server.ts). */
  metrics: Registry;
  /** The booking database's URL, for the connection that listens for the feed's growth. */
  databaseUrl: string;
  /** What makes consultation rooms for video appointments (the Jitsi adapter unless another is configured). */
  videoRooms: VideoRoomProvider;
}

export interface BookingServiceOptions {
  host: string;
  port: number;
  shutdownGraceMs: number;
  catalogTimeoutMs: number;
  /** The internal credential for catalog (CATALOG_INTERNAL_TOKEN). */
  catalogInternalToken: string;
  /** booking's own internal credentials (BOOKING_INTERNAL_TOKEN), which the event feed requires. */
  internalTokens: string[];
  /** Under mutual TLS, the identities that may read the event feed (BOOKING_INTERNAL_CALLERS); default none. */
  internalCallers?: string[];
  /** Under mutual TLS, the identities of clinic staff's tools that may call GetConsultation (BOOKING_ADMIN_CALLERS); default none. */
  adminCallers?: string[];
  /** How long appointment events are kept (BOOKING_EVENT_RETENTION_DAYS). */
  eventRetentionDays: number;
  /** How often the sequencer gives committed events their positions (BOOKING_EVENT_SEQUENCE_INTERVAL_MS). */
  eventSequenceIntervalMs: number;
  /** A feed watcher's fallback poll (BOOKING_EVENT_POLL_MS). */
  eventPollMs: number;
  /** Keys of page tokens (CAREBOOK_PAGE_TOKEN_KEY): the first signs, all verify. */
  pageTokenKeys: string[];
  /** The largest request accepted (BOOKING_MAX_REQUEST_BYTES); default DEFAULT_BOOKING_MAX_REQUEST_BYTES. */
  maxRequestBytes?: number;
  /** Age after which the reconciler settles a PENDING appointment: its claim deadline plus the clock skew bound. */
  reconcileGraceMs: number;
  /** Bound on how far the catalog and booking databases' clocks may differ (BOOKING_CLOCK_SKEW_BOUND_MS). */
  clockSkewBoundMs: number;
  reconcileIntervalMs: number;
  releaseIntervalMs: number;
  releaseMaxBackoffMs: number;
  /** Consultation rooms: their validity around the appointment, and how often and how patiently the provider is retried (BOOKING_VIDEO_*). */
  video: { opensBeforeMs: number; graceMs: number; intervalMs: number; maxBackoffMs: number };
  /** How long this process remembers a slot it saw taken (slot-gate.ts); 0: not at all. */
  takenSlotMemoryMs: number;
  /** Where to serve Prometheus metrics (port 0 picks one); unset: not served. */
  metricsAddress?: { host: string; port: number };
  /** TLS of booking's own server (BOOKING_TLS_CERT_FILE, BOOKING_TLS_KEY_FILE), mutual with a CA (BOOKING_TLS_CA_FILE); plaintext without. */
  tls?: ServerTls;
}

/** The running booking service: its gRPC server and background loops. */
export interface RunningBooking {
  port: number;
  /** The port of the metrics endpoint, if served. */
  metricsPort: number | undefined;
  reconciler: PendingReconciler;
  releases: ReleaseDispatcher;
  conflicts: ConflictsRepo;
  /** Gives waiting events their positions now (tests, which may not wait for the loop). */
  sequencer: EventSequencer;
  /** Consultation rooms now (tests): record what the feed says, then call the provider for what is due. */
  consultations: { recordFromFeed(): Promise<number>; dispatchDue(): Promise<number> };
  /** Deletes events past retention now (tests). */
  pruneEvents(): Promise<void>;
  /** Stops the loops, then the server (in-flight calls finish within the grace period). */
  shutdown(): Promise<void>;
}

/** Events positioned, read or deleted per statement. */
const EVENT_BATCH_SIZE = 500;
/** Retention is by days: an hourly pass keeps the feed within an hour of it. */
const EVENT_PRUNE_INTERVAL_MS = 3_600_000;
/** How long a room leased for a provider call is hidden from other dispatchers: longer than any provider call should take. */
const ROOM_LEASE_MS = 60_000;

/** Booking requests are small: the largest, a BookAppointment with a 500-character reason, is under 1 KB. */
export const DEFAULT_BOOKING_MAX_REQUEST_BYTES = 64 * 1024;

/** Builds the booking service on `deps` and starts its server, reconciler and release dispatcher. */
export async function startBookingService(deps: BookingDeps, options: BookingServiceOptions): Promise<RunningBooking> {
  const reachability = outageLog(deps.log, 'catalog');
  const catalog = catalogGateway(deps.catalog, {
    timeoutMs: options.catalogTimeoutMs,
    internalToken: options.catalogInternalToken,
    reachability,
  });
  // A release is leased (or kept for its first, immediate attempt) for longer than one catalog call.
  const releaseLeaseMs = 2 * options.catalogTimeoutMs;
  const appointmentRows = appointmentsRepo(deps.prisma, deps.sql, { releaseLeaseMs });
  const releaseRows = releasesRepo(deps.prisma);
  const releases = releaseDispatcher(releaseRows, catalog, deps.log, {
    maxBackoffMs: options.releaseMaxBackoffMs,
    leaseMs: releaseLeaseMs,
  });
  const conflicts = conflictsRepo(deps.prisma);
  const settlement = appointmentSettlement(appointmentRows, conflicts, catalog, releases, deps.log);
  const holds = holdSettlement(appointmentRows, catalog, releases, deps.log);
  const appointments = appointmentsService({
    claimWindowMs: options.reconcileGraceMs - options.clockSkewBoundMs,
    reconcileGraceMs: options.reconcileGraceMs,
    repo: appointmentRows,
    catalog,
    settlement,
    holds,
    releases,
    gate: slotGate(options.takenSlotMemoryMs),
  });
  const patients = patientsService(patientsRepo(deps.prisma));
  const resolver = conflictResolver({ conflicts, appointments: appointmentRows, catalog, releases, log: deps.log });
  const catalogHealth = { probe: catalog.probe, get down() { return reachability.down; } };
  const reconciler = pendingReconciler(appointmentRows, settlement, holds, resolver, catalogHealth, deps.log, {
    graceMs: options.reconcileGraceMs,
    skewBoundMs: options.clockSkewBoundMs,
  });
  const tokens = pageTokens(options.pageTokenKeys);
  const eventRows = appointmentEventsRepo(deps.prisma);
  const signal = feedSignal(deps.databaseUrl, deps.log);
  const sequencer = eventSequencer(eventRows, signal, EVENT_BATCH_SIZE);
  const feed = appointmentFeed(eventRows, signal, { pollMs: options.eventPollMs, batchSize: EVENT_BATCH_SIZE });
  const pruneEvents = async () => {
    while ((await eventRows.prune(options.eventRetentionDays, EVENT_BATCH_SIZE * 10)) > 0);
  };
  const roomRows = consultationsRepo(deps.prisma);
  const consultations = consultationsService({ rooms: roomRows, appointments: appointmentRows });
  const recorder = consultationRecorder(deps.prisma, deps.log, {
    opensBeforeMs: options.video.opensBeforeMs,
    graceMs: options.video.graceMs,
    batchSize: EVENT_BATCH_SIZE,
  });
  const rooms = roomDispatcher(roomRows, deps.videoRooms, deps.log, { maxBackoffMs: options.video.maxBackoffMs, leaseMs: ROOM_LEASE_MS });

  const server = await startGrpcServer(
    {
      log: deps.log,
      errorDomain: BOOKING_ERROR_DOMAIN,
      services: [
        registration(
          BOOKING_SERVICE_NAME,
          BookingServiceService,
          {
            ...patientHandlers(patients),
            ...appointmentHandlers(appointments, consultations, tokens),
            ...eventHandlers(feed),
            ...consultationHandlers(consultations),
          },
          BOOKING_ACCESS,
        ),
      ],
      // Serving while its own database answers: reads and retries are
      // answered while catalog is unreachable (docs/design.md, section 2.6).
      checkReady: () => pingDatabase(deps.prisma),
      shutdownGraceMs: options.shutdownGraceMs,
      maxRequestBytes: options.maxRequestBytes ?? DEFAULT_BOOKING_MAX_REQUEST_BYTES,
      metrics: deps.metrics,
      tls: options.tls,
      internalTokens: options.internalTokens,
      callers: { admin: options.adminCallers ?? [], internal: options.internalCallers ?? [] },
    },
    options.host,
    options.port,
  );
  registerBookingMetrics(deps.metrics, { appointments: appointmentRows, releases: releaseRows, conflicts, events: eventRows, consultations: roomRows });
  const metrics = await serveServiceMetrics(deps.metrics, {
    pool: deps.sql,
    dependencies: { database: server.database, catalog: reachability },
    address: options.metricsAddress,
    log: deps.log,
  });
  const loops = [
    runPeriodically('reconcile pending appointments', options.reconcileIntervalMs, () => reconciler.reconcileOnce(), deps.log),
    runPeriodically('deliver slot releases', options.releaseIntervalMs, () => releases.dispatchDue(), deps.log),
    runPeriodically('sequence appointment events', options.eventSequenceIntervalMs, () => sequencer.runOnce(), deps.log),
    runPeriodically('delete appointment events past retention', EVENT_PRUNE_INTERVAL_MS, pruneEvents, deps.log),
  ];
  // Rooms are recorded as soon as the feed grows, and made as soon as recorded;
  // the intervals are the fallback, and the retries' pace.
  const dispatchRooms = runPeriodically('make and revoke consultation rooms', options.video.intervalMs, () => rooms.dispatchDue(), deps.log);
  const recordRooms = runPeriodically(
    'record consultation rooms from the event feed',
    options.video.intervalMs,
    async () => {
      if ((await recorder.applyAll()) > 0) dispatchRooms.wake();
    },
    deps.log,
  );
  const stopWaking = signal.subscribe(() => recordRooms.wake());
  loops.push(recordRooms, dispatchRooms);

  return {
    port: server.port,
    metricsPort: metrics?.port,
    reconciler,
    releases,
    conflicts,
    sequencer,
    consultations: { recordFromFeed: () => recorder.applyAll(), dispatchDue: () => rooms.dispatchDue() },
    pruneEvents,
    async shutdown() {
      stopWaking();
      await Promise.all(loops.map((loop) => loop.stop()));
      await server.shutdown();
      await signal.close();
      await metrics?.close();
    },
  };
}
