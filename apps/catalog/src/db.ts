import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';

export type CatalogPrisma = PrismaClient;

/** A Prisma Client over a pg pool of `poolSize` connections to the catalog database. */
export function createCatalogPrisma(databaseUrl: string, poolSize: number): CatalogPrisma {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: poolSize }) });
}

/** Resolves when the database answers a trivial query. */
export async function pingDatabase(prisma: CatalogPrisma): Promise<void> {
  await prisma.$queryRaw`SELECT 1`;
}
