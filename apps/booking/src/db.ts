import { createPrismaClient } from '@carebook/server';
import { PrismaClient } from './generated/prisma/client';

export type BookingPrisma = PrismaClient;

/** A Prisma Client over a pg pool of `poolSize` connections to the booking database. */
export function createBookingPrisma(databaseUrl: string, poolSize: number): BookingPrisma {
  return createPrismaClient(PrismaClient, databaseUrl, { poolSize });
}
