// The SQL that schedules and unschedules messages. Each statement writes the
// notification rows and graphile-worker's jobs together, so that it runs in
// the caller's transaction (the feed's, which also moves the cursor): a
// message is scheduled exactly when its job exists.

/** The graphile-worker task that sends one message; its job_key is the notification's id. */
export const SEND_TASK = 'send_notification';

/**
 * Inserts the messages of one appointment on every channel and adds a job
 * per row, due at its scheduled time. $5/$6 pair each kind with its reminder
 * offset (NULL for the others). A reminder whose time is past by the
 * database's clock is not scheduled. Rows that exist already (a replayed
 * event) are left as they are, and get no second job.
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
  RETURNING id, scheduled_time
)
SELECT count(*)::int AS scheduled
  FROM inserted i
 CROSS JOIN LATERAL graphile_worker.add_job('${SEND_TASK}', json_build_object('notificationId', i.id), run_at => i.scheduled_time, job_key => i.id::text, max_attempts => $8) AS job`;

/**
 * Skips every SCHEDULED message of an appointment but its cancellation
 * notice, with reason $2, and removes their jobs. A job being worked on
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
