import { createServiceDatabase, type ServiceDatabase } from '@carebook/server';
import { PrismaClient } from './generated/prisma/client';

export type NotificationsPrisma = PrismaClient;
export type NotificationsDatabase = ServiceDatabase<NotificationsPrisma>;

/** The notifications database: a Prisma Client, and the pool under it, which the feed's transactions and graphile-worker share. */
export function createNotificationsDatabase(databaseUrl: string, poolSize: number): NotificationsDatabase {
  return createServiceDatabase(PrismaClient, databaseUrl, { poolSize });
}
