import { BookingServiceService } from '@carebook/proto/booking';
import type { CatalogClient } from '@carebook/proto/catalog';
import { pingDatabase, registration, runPeriodically, startGrpcServer, type Logger, type SqlPool } from '@carebook/server';
import { appointmentHandlers } from './appointments/handlers';
import { pendingReconciler, type PendingReconciler } from './appointments/reconciler';
import { appointmentsRepo } from './appointments/repo';
import { appointmentsService } from './appointments/service';
import { appointmentSettlement } from './appointments/settlement';
import { slotGate } from './appointments/slot-gate';
import { catalogGateway } from './catalog-gateway';
import type { BookingPrisma } from './db';
import { patientHandlers } from './patients/handlers';
import { patientsRepo } from './patients/repo';
import { patientsService } from './patients/service';
import { releaseDispatcher, type ReleaseDispatcher } from './releases/dispatcher';
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
}

export interface BookingServiceOptions {
  host: string;
  port: number;
  shutdownGraceMs: number;
  catalogTimeoutMs: number;
  reconcileGraceMs: number;
  reconcileIntervalMs: number;
  releaseIntervalMs: number;
  releaseMaxBackoffMs: number;
  /** How long this process remembers a slot it saw taken (slot-gate.ts); 0: not at all. */
  takenSlotMemoryMs: number;
}

/** The running booking service: its gRPC server and background loops. */
export interface RunningBooking {
  port: number;
  reconciler: PendingReconciler;
  releases: ReleaseDispatcher;
  /** Stops the loops, then the server (in-flight calls finish within the grace period). */
  shutdown(): Promise<void>;
}

/** Builds the booking service on `deps` and starts its server, reconciler and release dispatcher. */
export async function startBookingService(deps: BookingDeps, options: BookingServiceOptions): Promise<RunningBooking> {
  const catalog = catalogGateway(deps.catalog, options.catalogTimeoutMs);
  // A release is leased (or kept for its first, immediate attempt) for longer than one catalog call.
  const releaseLeaseMs = 2 * options.catalogTimeoutMs;
  const appointmentRows = appointmentsRepo(deps.prisma, deps.sql, { releaseLeaseMs });
  const releases = releaseDispatcher(releasesRepo(deps.prisma), catalog, deps.log, {
    maxBackoffMs: options.releaseMaxBackoffMs,
    leaseMs: releaseLeaseMs,
  });
  const settlement = appointmentSettlement(appointmentRows, releases, deps.log);
  const appointments = appointmentsService({
    reconcileGraceMs: options.reconcileGraceMs,
    repo: appointmentRows,
    catalog,
    settlement,
    releases,
    gate: slotGate(options.takenSlotMemoryMs),
  });
  const patients = patientsService(patientsRepo(deps.prisma));
  const reconciler = pendingReconciler(appointmentRows, catalog, settlement, deps.log, { graceMs: options.reconcileGraceMs });

  const server = await startGrpcServer(
    {
      log: deps.log,
      errorDomain: BOOKING_ERROR_DOMAIN,
      services: [registration(BOOKING_SERVICE_NAME, BookingServiceService, { ...patientHandlers(patients), ...appointmentHandlers(appointments) })],
      checkReady: () => pingDatabase(deps.prisma),
      shutdownGraceMs: options.shutdownGraceMs,
    },
    options.host,
    options.port,
  );
  const loops = [
    runPeriodically('reconcile pending appointments', options.reconcileIntervalMs, () => reconciler.reconcileOnce(), deps.log),
    runPeriodically('deliver slot releases', options.releaseIntervalMs, () => releases.dispatchDue(), deps.log),
  ];

  return {
    port: server.port,
    reconciler,
    releases,
    async shutdown() {
      await Promise.all(loops.map((loop) => loop.stop()));
      await server.shutdown();
    },
  };
}
