import { createServiceDatabase, type ServiceDatabase } from '@carebook/server';
import { PrismaClient } from './generated/prisma/client';

export type BookingPrisma = PrismaClient;
export type BookingDatabase = ServiceDatabase<BookingPrisma>;

/** The booking database: a Prisma Client, and for the hot path's prepared statements the pool of `poolSize` connections under it. */
export function createBookingDatabase(databaseUrl: string, poolSize: number): BookingDatabase {
  return createServiceDatabase(PrismaClient, databaseUrl, { poolSize });
}
