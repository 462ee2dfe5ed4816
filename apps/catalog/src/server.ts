import { CatalogServiceService } from '@carebook/proto/catalog';
import { pingDatabase, registration, startGrpcServer, type CarebookGrpcServer, type Logger } from '@carebook/server';
import { clinicHandlers } from './clinics/handlers';
import { clinicsRepo } from './clinics/repo';
import { clinicsService } from './clinics/service';
import type { CatalogPrisma } from './db';
import { doctorHandlers } from './doctors/handlers';
import { doctorsRepo } from './doctors/repo';
import { doctorsService } from './doctors/service';
import { slotHandlers } from './slots/handlers';
import { slotsRepo } from './slots/repo';
import { slotsService } from './slots/service';

export const CATALOG_SERVICE_NAME = 'carebook.catalog.v1.CatalogService';
export const CATALOG_ERROR_DOMAIN = 'catalog.carebook.dev';

export interface CatalogDeps {
  prisma: CatalogPrisma;
  log: Logger;
}

export interface CatalogServerOptions {
  host: string;
  port: number;
  shutdownGraceMs: number;
}

/** Builds and starts the catalog gRPC server on `deps`; listens on `options.port` (0 picks one). */
export function startCatalogServer(deps: CatalogDeps, options: CatalogServerOptions): Promise<CarebookGrpcServer> {
  const clinics = clinicsService(clinicsRepo(deps.prisma));
  const doctors = doctorsService(doctorsRepo(deps.prisma), clinics);
  const slots = slotsService(slotsRepo(deps.prisma), doctors);
  const handlers = { ...clinicHandlers(clinics), ...doctorHandlers(doctors), ...slotHandlers(slots) };
  return startGrpcServer(
    {
      log: deps.log,
      errorDomain: CATALOG_ERROR_DOMAIN,
      services: [registration(CATALOG_SERVICE_NAME, CatalogServiceService, handlers)],
      checkReady: () => pingDatabase(deps.prisma),
      shutdownGraceMs: options.shutdownGraceMs,
    },
    options.host,
    options.port,
  );
}
