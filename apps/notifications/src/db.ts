import { createServiceDatabase, type ServiceDatabase } from '@carebook/server';
import { PrismaClient } from './generated/prisma/client';

export type NotificationsPrisma = PrismaClient;
export type NotificationsDatabase = ServiceDatabase<NotificationsPrisma>;

/**
 * The notifications database: a Prisma Client, and the pool under it, which
 * the feed's transactions and graphile-worker share.
 *
 * Its commits do not wait for the WAL flush (a reminder burst spent most of
 * its time waiting for flushes: performance.md §7), because nothing in it
 * is lost for good when a PostgreSQL crash drops the last of them. Every row
 * is either made from booking's feed, in the transaction that moves the
 * feed cursor, so a lost commit takes the cursor back with it and the events
 * are applied again; or records a send (a job taken or finished, a message
 * SENT), and a lost record sends that message again, with the same
 * Message-ID. WAL is flushed in order, so a record survives only if all
 * before it do. What a PostgreSQL crash costs is duplicates of the messages
 * sent in its last moments (up to three wal_writer_delay, 600 ms by
 * default), never a lost message.
 */
export function createNotificationsDatabase(databaseUrl: string, poolSize: number): NotificationsDatabase {
  return createServiceDatabase(PrismaClient, databaseUrl, { poolSize, relaxedCommit: true });
}
