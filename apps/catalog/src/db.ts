import { createServiceDatabase, type ServiceDatabase } from '@carebook/server';
import { PrismaClient } from './generated/prisma/client';

export type CatalogPrisma = PrismaClient;
export type CatalogDatabase = ServiceDatabase<CatalogPrisma>;

/** The catalog database: a Prisma Client, and for the claim path's prepared statements the pool of `poolSize` connections under it. */
export function createCatalogDatabase(databaseUrl: string, poolSize: number): CatalogDatabase {
  return createServiceDatabase(PrismaClient, databaseUrl, { poolSize });
}

/** The Prisma Client alone, for what needs no prepared statements (the materialiser's replicas in tests, say); $disconnect ends its pool. */
export function createCatalogPrisma(databaseUrl: string, poolSize: number): CatalogPrisma {
  return createCatalogDatabase(databaseUrl, poolSize).prisma;
}
