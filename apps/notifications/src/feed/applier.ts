import type { AppointmentEvent } from '@carebook/proto/booking';
import type pg from 'pg';
import { SCHEDULE_MESSAGES, SKIP_SCHEDULED } from '../notifications/statements';
import { inTransaction } from '../transaction';
import { planEvent, type EventPlan } from './event-plan';

// Applies feed events to the notifications database. Each event is applied
// in one transaction that also moves the cursor, under the cursor row's lock,
// and only if it is the next position: booking's positions are dense (1, 2,
// 3, … in commit order), so "cursor + 1" is exactly the next event. Replays
// (at-least-once delivery, a reconnect, another replica applying the same
// feed) find the cursor past them and change nothing: each event takes
// effect once, whichever replica gets there first.

/** What became of one event. */
export type ApplyOutcome =
  | { kind: 'applied' }
  | { kind: 'already-applied'; cursor: number }
  /** The event is beyond the next position: events were missed; read again from `cursor`. */
  | { kind: 'gap'; cursor: number };

export interface FeedApplier {
  /** The position of the last event applied. */
  cursor(): Promise<number>;
  apply(event: AppointmentEvent): Promise<ApplyOutcome>;
  /** Moves the cursor forward to `position` without applying what lies between (CURSOR_EXPIRED); never back. Returns the position it was at. */
  skipTo(position: number): Promise<number>;
}

export interface FeedApplierOptions {
  /** The cursor's row in feed_cursor. */
  consumer: string;
  reminderOffsetsMs: readonly number[];
  /** graphile-worker's max_attempts of each send job: tries after unexpected errors (its own backoff); provider failures are counted apart. */
  jobMaxAttempts: number;
}

const LOCK_CURSOR = 'SELECT position::text AS position FROM feed_cursor WHERE consumer = $1 FOR UPDATE';
const MOVE_CURSOR = 'UPDATE feed_cursor SET position = $2, update_time = now() WHERE consumer = $1';

/** Applies events of booking's appointment feed under the cursor `options.consumer`. */
export function feedApplier(pool: pg.Pool, options: FeedApplierOptions): FeedApplier {
  const lockCursor = async (client: pg.PoolClient): Promise<number> => {
    const { rows } = await client.query<{ position: string }>(LOCK_CURSOR, [options.consumer]);
    if (rows.length === 0) throw new Error(`no feed cursor named ${options.consumer}`);
    return Number(rows[0].position);
  };

  const write = async (client: pg.PoolClient, plan: EventPlan, eventId: string): Promise<void> => {
    if (plan.skip) await client.query(SKIP_SCHEDULED, [plan.skip.appointmentId, plan.skip.reason]);
    const step = plan.schedule;
    if (step) {
      await client.query(SCHEDULE_MESSAGES, [
        step.appointmentId,
        step.patientId,
        eventId,
        step.startTime,
        step.messages.map((m) => m.kind),
        step.messages.map((m) => m.reminderOffsetMs),
        step.previousStartTime,
        options.jobMaxAttempts,
      ]);
    }
  };

  return {
    async cursor() {
      const { rows } = await pool.query<{ position: string }>('SELECT position::text AS position FROM feed_cursor WHERE consumer = $1', [options.consumer]);
      if (rows.length === 0) throw new Error(`no feed cursor named ${options.consumer}`);
      return Number(rows[0].position);
    },

    apply(event) {
      // Planned before the transaction: a malformed event fails without holding the lock.
      const plan = planEvent(event, options.reminderOffsetsMs);
      return inTransaction(pool, async (client): Promise<ApplyOutcome> => {
        const cursor = await lockCursor(client);
        if (event.position <= cursor) return { kind: 'already-applied', cursor };
        if (event.position > cursor + 1) return { kind: 'gap', cursor };
        await write(client, plan, event.id);
        await client.query(MOVE_CURSOR, [options.consumer, event.position]);
        return { kind: 'applied' };
      });
    },

    skipTo(position) {
      return inTransaction(pool, async (client) => {
        const cursor = await lockCursor(client);
        if (position > cursor) await client.query(MOVE_CURSOR, [options.consumer, position]);
        return cursor;
      });
    },
  };
}
