-- Notifications schema: messages, the feed cursor, worker heartbeats.
-- The first part is what `prisma migrate dev` writes for schema.prisma; the
-- second part holds the invariants Prisma cannot express, each one named.
-- Times are kept to the millisecond, the precision of protobuf clients' JS
-- Dates, so keyset cursors taken from API values compare exactly.

-- CreateEnum
CREATE TYPE "notification_channel" AS ENUM ('email', 'sms');

-- CreateEnum
CREATE TYPE "notification_kind" AS ENUM ('confirmation', 'reminder', 'cancellation', 'reschedule');

-- CreateEnum
CREATE TYPE "notification_status" AS ENUM ('scheduled', 'sent', 'skipped', 'failed');

-- CreateTable
CREATE TABLE "notification" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "appointment_id" UUID NOT NULL,
    "patient_id" UUID NOT NULL,
    "event_id" UUID NOT NULL,
    "channel" "notification_channel" NOT NULL,
    "kind" "notification_kind" NOT NULL,
    "reminder_offset_ms" INTEGER,
    "status" "notification_status" NOT NULL DEFAULT 'scheduled',
    "appointment_start_time" TIMESTAMPTZ(3) NOT NULL,
    "previous_start_time" TIMESTAMPTZ(3),
    "scheduled_time" TIMESTAMPTZ(3) NOT NULL,
    "sent_time" TIMESTAMPTZ(3),
    "skip_reason" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "create_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "update_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "feed_cursor" (
    "consumer" TEXT NOT NULL,
    "position" BIGINT NOT NULL,
    "update_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "feed_cursor_pkey" PRIMARY KEY ("consumer")
);

-- CreateTable
CREATE TABLE "worker_heartbeat" (
    "worker_id" TEXT NOT NULL,
    "beat_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "worker_heartbeat_pkey" PRIMARY KEY ("worker_id")
);

-- CreateIndex
CREATE INDEX "notification_appointment_id_scheduled_time_id_idx" ON "notification"("appointment_id", "scheduled_time" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "notification_patient_id_scheduled_time_id_idx" ON "notification"("patient_id", "scheduled_time" DESC, "id" DESC);

-- Invariants (not expressible in schema.prisma) -----------------------------

-- One message per (appointment, kind, channel, reminder offset): applying an
-- event twice (a replay after a crash, two replicas) cannot schedule a
-- message twice. NULLS NOT DISTINCT: non-reminders have no offset and are
-- still one each.
CREATE UNIQUE INDEX "notification_message_key" ON "notification"("appointment_id", "kind", "channel", "reminder_offset_ms") NULLS NOT DISTINCT;

-- Due messages, for the metrics' due and overdue counts.
CREATE INDEX "notification_scheduled_due_idx" ON "notification"("scheduled_time") WHERE status = 'scheduled';

-- A reminder, and only a reminder, has a positive offset, and is due exactly
-- that long before the start it is about.
ALTER TABLE "notification" ADD CONSTRAINT "notification_reminder_offset_check" CHECK (
    (kind = 'reminder') = (reminder_offset_ms IS NOT NULL)
    AND (reminder_offset_ms IS NULL OR (reminder_offset_ms > 0 AND scheduled_time = appointment_start_time - reminder_offset_ms * interval '1 millisecond'))
);

-- A reschedule message, and only it, says where the appointment moved from.
ALTER TABLE "notification" ADD CONSTRAINT "notification_previous_start_check" CHECK ((kind = 'reschedule') = (previous_start_time IS NOT NULL));

-- sent_time exactly when SENT; a skip reason exactly when SKIPPED, from the
-- list the API documents.
ALTER TABLE "notification" ADD CONSTRAINT "notification_sent_time_check" CHECK ((status = 'sent') = (sent_time IS NOT NULL));
ALTER TABLE "notification" ADD CONSTRAINT "notification_skip_reason_check" CHECK (
    (status = 'skipped') = (skip_reason IS NOT NULL)
    AND (skip_reason IS NULL OR skip_reason IN (
        'APPOINTMENT_NOT_BOOKED', 'APPOINTMENT_MOVED', 'APPOINTMENT_CANCELLED', 'APPOINTMENT_STARTED',
        'NO_CONTACT', 'NO_CONSENT', 'CHANNEL_DISABLED'))
);

-- A FAILED message was tried at least once and says how the last try failed;
-- errors are cut short before they are stored.
ALTER TABLE "notification" ADD CONSTRAINT "notification_attempts_check" CHECK (
    attempts >= 0
    AND (status <> 'failed' OR (attempts > 0 AND last_error IS NOT NULL))
    AND (last_error IS NULL OR length(last_error) <= 500)
);

ALTER TABLE "feed_cursor" ADD CONSTRAINT "feed_cursor_position_check" CHECK (position >= 0);

-- The one consumer of booking's appointment feed starts before its first event.
INSERT INTO "feed_cursor" ("consumer", "position") VALUES ('booking-appointment-events', 0);
