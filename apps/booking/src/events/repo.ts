import type { AppointmentEventType, Prisma } from '../generated/prisma/client';
import type { BookingPrisma } from '../db';

/** One event of the feed as stored: the appointment rows are to_jsonb() snapshots taken at commit. */
export interface StoredEvent {
  id: string;
  position: number;
  type: AppointmentEventType;
  eventTime: Date;
  snapshot: Record<string, unknown>;
  replacedSnapshot: Record<string, unknown> | null;
}

/** The feed's bounds: positions at or before prunedThrough are gone; latest is the last one given (0 when none). */
export interface FeedBounds {
  prunedThrough: number;
  latest: number;
}

// The advisory lock that makes one sequencer at a time give positions, across
// every booking replica. Any constant unique within the booking database.
const SEQUENCER_LOCK = 7_305_417_001;

/** Up to `limit` events after `position`, in position order; in the caller's transaction if given one. */
export async function eventsAfter(db: Prisma.TransactionClient | BookingPrisma, position: number, limit: number): Promise<StoredEvent[]> {
  const rows = await db.$queryRaw<(Omit<StoredEvent, 'position'> & { position: bigint })[]>`
    SELECT id, position, type, event_time AS "eventTime", snapshot, replaced_snapshot AS "replacedSnapshot"
    FROM appointment_event
    WHERE position > ${position}::bigint
    ORDER BY position LIMIT ${limit}`;
  return rows.map((row) => ({ ...row, position: Number(row.position) }));
}

/** The channel the sequencer notifies, with the latest position as payload, when it has given positions. */
export const FEED_CHANNEL = 'appointment_event_sequenced';

/** Queries over the appointment event feed (appointment_event and its horizon). */
export function appointmentEventsRepo(prisma: BookingPrisma) {
  return {
    /** True while some committed event waits for its position: the sequencer's cheap check before it takes its lock. */
    async hasUnpositioned(): Promise<boolean> {
      const [row] = await prisma.$queryRaw<{ waiting: boolean }[]>`
        SELECT EXISTS (SELECT 1 FROM appointment_event WHERE position IS NULL) AS waiting`;
      return row.waiting;
    },

    /**
     * Gives positions to up to `limit` committed events, in insertion order,
     * each one past the last; returns how many and the latest position, or
     * undefined when another sequencer holds the lock. Under the lock, this
     * statement's snapshot sees every position given before, so positions
     * stay dense; an event still uncommitted is not seen, and gets the next
     * position once it commits, after every position a reader has seen.
     */
    sequence: (limit: number) =>
      prisma.$transaction(async (tx) => {
        const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${SEQUENCER_LOCK}::bigint) AS locked`;
        if (!lock.locked) return undefined;
        const [result] = await tx.$queryRaw<{ positioned: number; latest: bigint | null }[]>`
          WITH base AS (
            SELECT greatest(
              (SELECT max(position) FROM appointment_event),
              (SELECT pruned_through FROM appointment_event_horizon)
            ) AS last
          ),
          waiting AS (
            SELECT id, row_number() OVER (ORDER BY seq) AS n
            FROM appointment_event WHERE position IS NULL
            ORDER BY seq LIMIT ${limit}
          ),
          given AS (
            UPDATE appointment_event e SET position = base.last + waiting.n
            FROM waiting, base WHERE e.id = waiting.id
            RETURNING e.position
          )
          SELECT count(*)::int AS positioned, max(position) AS latest FROM given`;
        if (result.positioned > 0) await tx.$executeRaw`SELECT pg_notify(${FEED_CHANNEL}, ${String(result.latest)})`;
        return { positioned: result.positioned, latest: Number(result.latest ?? 0) };
      }),

    /** The age of the oldest event waiting for its position, in seconds by the database's clock (0 when none). */
    async unpositionedStats(): Promise<{ oldestAgeSeconds: number }> {
      const [row] = await prisma.$queryRaw<{ oldestAgeSeconds: number }[]>`
        SELECT coalesce(extract(epoch FROM now() - min(event_time)), 0)::float8 AS "oldestAgeSeconds"
        FROM appointment_event WHERE position IS NULL`;
      return row;
    },

    /** The feed's bounds now. */
    async bounds(): Promise<FeedBounds> {
      const [row] = await prisma.$queryRaw<{ prunedThrough: bigint; latest: bigint }[]>`
        SELECT h.pruned_through AS "prunedThrough",
               greatest((SELECT max(position) FROM appointment_event), h.pruned_through) AS latest
        FROM appointment_event_horizon h`;
      return { prunedThrough: Number(row.prunedThrough), latest: Number(row.latest) };
    },

    /**
     * How many events each consumer inside booking (a row of
     * appointment_event_cursor) trails the feed's latest position by, in one
     * statement: the latest position less its cursor, never below 0.
     */
    async consumerLag(): Promise<{ consumer: string; lag: number }[]> {
      const rows = await prisma.$queryRaw<{ consumer: string; lag: bigint }[]>`
        SELECT c.consumer,
               greatest(greatest((SELECT max(position) FROM appointment_event), h.pruned_through) - c.position, 0) AS lag
        FROM appointment_event_cursor c CROSS JOIN appointment_event_horizon h
        ORDER BY c.consumer`;
      return rows.map((row) => ({ consumer: row.consumer, lag: Number(row.lag) }));
    },

    /** Up to `limit` events after `position`, in position order. */
    listAfter: (position: number, limit: number) => eventsAfter(prisma, position, limit),

    /**
     * Deletes up to `limit` of the oldest events whose time is more than
     * `retentionDays` ago by the database's clock, and moves the horizon past
     * them in the same transaction; returns how many went.
     */
    prune: (retentionDays: number, limit: number) =>
      prisma.$transaction(async (tx) => {
        const [row] = await tx.$queryRaw<{ through: bigint | null }[]>`
          SELECT max(position) AS through FROM (
            SELECT position FROM appointment_event
            WHERE position IS NOT NULL AND event_time < now() - make_interval(days => ${retentionDays})
            ORDER BY position LIMIT ${limit}
          ) AS old`;
        if (row.through === null) return 0;
        const deleted = await tx.$executeRaw`DELETE FROM appointment_event WHERE position <= ${row.through}`;
        await tx.$executeRaw`UPDATE appointment_event_horizon SET pruned_through = greatest(pruned_through, ${row.through})`;
        return deleted;
      }),
  };
}

export type AppointmentEventsRepo = ReturnType<typeof appointmentEventsRepo>;
