import { createPrismaClient } from '@carebook/server';
import { PrismaClient } from './generated/prisma/client';

export type CatalogPrisma = PrismaClient;

/** A Prisma Client over a pg pool of `poolSize` connections to the catalog database. */
export function createCatalogPrisma(databaseUrl: string, poolSize: number): CatalogPrisma {
  return createPrismaClient(PrismaClient, databaseUrl, { poolSize });
}
