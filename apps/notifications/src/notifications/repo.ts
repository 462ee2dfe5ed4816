import type pg from 'pg';
import { queryPrepared, selectList, type ColumnsOf, type PreparedStatement, type TimeIdKey } from '@carebook/server';
import type { NotificationsPrisma } from '../db';
import type { SkipReason } from '../feed/event-plan';
import type { Notification } from '../generated/prisma/client';
import { inTransaction } from '../transaction';
import { SEND_TASK } from './statements';

export type { Notification };

/** Every column of the Notification model under its field name: the one list the send path reads rows with. */
export const NOTIFICATION_FIELDS: ColumnsOf<Notification> = {
  id: 'id',
  appointmentId: 'appointment_id',
  patientId: 'patient_id',
  eventId: 'event_id',
  channel: 'channel',
  kind: 'kind',
  reminderOffsetMs: 'reminder_offset_ms',
  status: 'status',
  appointmentStartTime: 'appointment_start_time',
  previousStartTime: 'previous_start_time',
  scheduledTime: 'scheduled_time',
  sentTime: 'sent_time',
  skipReason: 'skip_reason',
  attempts: 'attempts',
  lastError: 'last_error',
  createTime: 'create_time',
  updateTime: 'update_time',
};

// The send path's statements, run for every batch of messages: prepared
// (libs/server prepared-statements.ts), so PostgreSQL plans each once per connection.
const LOAD_FOR_SEND: PreparedStatement = {
  name: 'notification_load_for_send',
  text: `SELECT ${selectList(NOTIFICATION_FIELDS)}, now() AS "databaseNow" FROM notification WHERE id = ANY($1::uuid[])`,
};
const MARK_SENT: PreparedStatement = {
  name: 'notification_mark_sent',
  text: `UPDATE notification SET status = 'sent', sent_time = now(), attempts = attempts + 1, last_error = NULL, update_time = now()
  WHERE id = ANY($1::uuid[]) AND status = 'scheduled' RETURNING id`,
};
const MARK_SKIPPED: PreparedStatement = {
  name: 'notification_mark_skipped',
  text: `UPDATE notification SET status = 'skipped', skip_reason = $2, update_time = now()
  WHERE id = ANY($1::uuid[]) AND status = 'scheduled' RETURNING id`,
};
// A failed try: counted, its error kept; the message stays SCHEDULED while a
// retryable failure leaves tries, else it is FAILED.
const RECORD_FAILURE = `UPDATE notification
    SET attempts = attempts + 1, last_error = $2, update_time = now(),
        status = (CASE WHEN $3::boolean AND attempts + 1 < $4 THEN 'scheduled' ELSE 'failed' END)::notification_status
  WHERE id = $1 AND status = 'scheduled'
  RETURNING status::text AS status, attempts`;
// The next try's job, for this row alone, keyed by its id: it replaces the
// running job when that job bears the same key, a retry's (graphile-worker
// keeps the running job from being retried itself).
const ADD_RETRY_JOB = `SELECT 1 FROM graphile_worker.add_job('${SEND_TASK}', json_build_array($1::uuid),
  run_at => now() + $2::int * interval '1 millisecond', job_key => $1::text, max_attempts => $3)`;
const DUE_STATS = `SELECT count(*) FILTER (WHERE scheduled_time <= now())::int AS due,
    count(*) FILTER (WHERE scheduled_time < now() - interval '1 minute')::int AS overdue
  FROM notification WHERE status = 'scheduled'`;

/** What became of a failed try. */
export type FailureOutcome = { kind: 'retry'; attempts: number } | { kind: 'failed'; attempts: number } | { kind: 'not-scheduled' };

export interface NotificationFilter {
  appointmentId?: string;
  patientId?: string;
}

/** Queries of the notification table. */
export interface NotificationsRepo {
  /** The rows of `ids` that exist, each with the database's clock at the moment they were read. */
  loadForSend(ids: readonly string[]): Promise<(Notification & { databaseNow: Date })[]>;
  /** The ids among `ids` that were SCHEDULED and are now SENT. */
  markSent(ids: readonly string[]): Promise<Set<string>>;
  /** The ids among `ids` that were SCHEDULED and are now SKIPPED for `reason`. */
  markSkipped(ids: readonly string[], reason: SkipReason): Promise<Set<string>>;
  /** Records a failed try; a retryable one with tries left gets a new job after `retryDelayMs(attempts)`. */
  recordFailure(id: string, error: string, retryable: boolean, retry: RetryPolicy): Promise<FailureOutcome>;
  /** Up to pageSize + 1 rows (the extra one tells another page exists) after `after` in (scheduled time, id) descending order. */
  list(filter: NotificationFilter, pageSize: number, after: TimeIdKey | undefined): Promise<Notification[]>;
  /** SCHEDULED messages due by now, and those due over a minute ago, by the database's clock. */
  dueStats(): Promise<{ due: number; overdue: number }>;
}

export interface RetryPolicy {
  maxAttempts: number;
  /** The wait before the next try after `attempts` tries. */
  retryDelayMs(attempts: number): number;
  jobMaxAttempts: number;
}

/** The notification queries over `pool` (the send path) and `prisma` (the API's reads). */
export function notificationsRepo(pool: pg.Pool, prisma: NotificationsPrisma): NotificationsRepo {
  return {
    loadForSend: (ids) => queryPrepared<Notification & { databaseNow: Date }>(pool, LOAD_FOR_SEND, [ids]),

    async markSent(ids) {
      const rows = await queryPrepared<{ id: string }>(pool, MARK_SENT, [ids]);
      return new Set(rows.map((row) => row.id));
    },

    async markSkipped(ids, reason) {
      const rows = await queryPrepared<{ id: string }>(pool, MARK_SKIPPED, [ids, reason]);
      return new Set(rows.map((row) => row.id));
    },

    recordFailure(id, error, retryable, retry) {
      return inTransaction(pool, async (client): Promise<FailureOutcome> => {
        const { rows } = await client.query<{ status: string; attempts: number }>(RECORD_FAILURE, [id, error, retryable, retry.maxAttempts]);
        if (rows.length === 0) return { kind: 'not-scheduled' };
        const { status, attempts } = rows[0];
        if (status !== 'scheduled') return { kind: 'failed', attempts };
        await client.query(ADD_RETRY_JOB, [id, Math.round(retry.retryDelayMs(attempts)), retry.jobMaxAttempts]);
        return { kind: 'retry', attempts };
      });
    },

    list(filter, pageSize, after) {
      const where = filter.appointmentId ? { appointmentId: filter.appointmentId } : { patientId: filter.patientId };
      const before = after && { OR: [{ scheduledTime: { lt: new Date(after[0]) } }, { scheduledTime: new Date(after[0]), id: { lt: after[1] } }] };
      return prisma.notification.findMany({
        where: { ...where, ...before },
        orderBy: [{ scheduledTime: 'desc' }, { id: 'desc' }],
        take: pageSize + 1,
      });
    },

    async dueStats() {
      const { rows } = await pool.query<{ due: number; overdue: number }>(DUE_STATS);
      return rows[0];
    },
  };
}
