// The SQL that schedules and unschedules messages. Each statement writes the
// notification rows and graphile-worker's jobs together, so that it runs in
// the caller's transaction (the feed's, which also moves the cursor): a
// message is scheduled exactly when its job exists.

/** The graphile-worker task that sends one message; its job_key is the notification's id. */
export const SEND_TASK = 'send_notification';

/**
 * How many send jobs the messages due in one second are spread over (by
 * appointment, so that its channels go together): enough for every worker
 * to have one, and few rows per job. graphile-worker rewrites a batch job's
 * whole payload on each addition, so a job of n rows costs O(n²) bytes to
 * build: 10,000 messages due at once make 256 jobs of some 40 rows.
 */
export const SEND_JOBS_PER_SECOND = 256;

/** How far ahead a message must be due to join a batch job (see SCHEDULE_MESSAGES): far more than a transaction takes. */
const BATCH_LEAD = '10 seconds';

/**
 * Inserts the messages of one appointment, a row per channel, and adds
 * them to send jobs due at their scheduled time: the rows of one kind and
 * offset share a job (an array payload: graphile-worker's batch job), and
 * one job sends them with a few batch reads of booking and catalog.
 *
 * A message due at least BATCH_LEAD from now joins the other messages due
 * in the same second: its job has a key (that second and a share of the
 * appointments), and graphile-worker appends the rows of each addition to
 * the job's payload while no worker has taken it. The lead keeps every
 * addition before the job can run: adding to a key whose job is running
 * would start another job and take the running one's retries away.
 * Messages due sooner (a confirmation) get a job of their own.
 *
 * A retry is a job of one row, keyed by that row's id (notifications/repo.ts).
 * $5/$6 pair each kind with its reminder offset (NULL for the others). A
 * reminder whose time is past by the database's clock is not scheduled.
 * Rows that exist already (a replayed event) are left as they are, and get
 * no second job.
 * $1 appointment, $2 patient, $3 event, $4 start, $5 kinds, $6 offsets,
 * $7 previous start (reschedule messages), $8 the job's max_attempts.
 */
export const SCHEDULE_MESSAGES = `
WITH planned AS (
  SELECT m.kind::notification_kind AS kind, m.offset_ms AS reminder_offset_ms,
         CASE WHEN m.offset_ms IS NULL THEN now() ELSE $4::timestamptz - m.offset_ms * interval '1 millisecond' END AS scheduled_time
    FROM unnest($5::text[], $6::int[]) AS m(kind, offset_ms)
), inserted AS (
  INSERT INTO notification (appointment_id, patient_id, event_id, channel, kind, reminder_offset_ms, appointment_start_time, previous_start_time, scheduled_time)
  SELECT $1, $2, $3, c.channel, p.kind, p.reminder_offset_ms, $4, CASE WHEN p.kind = 'reschedule' THEN $7::timestamptz END, p.scheduled_time
    FROM planned p CROSS JOIN unnest(enum_range(NULL::notification_channel)) AS c(channel)
   WHERE p.reminder_offset_ms IS NULL OR p.scheduled_time > now()
  ON CONFLICT DO NOTHING
  RETURNING id, kind, reminder_offset_ms, scheduled_time
), jobs AS (
  SELECT json_agg(id) AS ids, scheduled_time,
         CASE WHEN scheduled_time >= now() + interval '${BATCH_LEAD}'
              THEN 'due ' || floor(extract(epoch FROM scheduled_time))::bigint || ' ' || abs(hashtext($1::text)) % ${SEND_JOBS_PER_SECOND} END AS job_key
    FROM inserted GROUP BY kind, reminder_offset_ms, scheduled_time
)
SELECT count(*)::int AS scheduled
  FROM jobs j
 CROSS JOIN LATERAL graphile_worker.add_job('${SEND_TASK}', j.ids, run_at => j.scheduled_time, job_key => j.job_key,
   job_key_mode => 'preserve_run_at', max_attempts => $8) AS job`;

/**
 * Skips every SCHEDULED message of an appointment but its cancellation
 * notice, with reason $2, and removes their retry jobs (keyed by the row's
 * id). A batch job keeps the row's id, and passes over it: the row is no
 * longer SCHEDULED. A job being worked on
 * keeps running but is never retried (graphile-worker's remove_job); its
 * result cannot be recorded, since the row is no longer SCHEDULED.
 */
export const SKIP_SCHEDULED = `
WITH skipped AS (
  UPDATE notification SET status = 'skipped', skip_reason = $2, update_time = now()
   WHERE appointment_id = $1 AND status = 'scheduled' AND kind <> 'cancellation'
  RETURNING id
)
SELECT count(*)::int AS skipped FROM skipped s CROSS JOIN LATERAL graphile_worker.remove_job(s.id::text) AS job`;
