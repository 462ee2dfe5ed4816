-- Consultation rooms of video appointments (docs/design.md §3.8). booking
-- reads its own event feed from a durable cursor: each BOOKED or RESCHEDULED
-- video appointment gets a consultation row (a room wanted), and a
-- cancelled or replaced one's room is marked for revocation, in the
-- transaction that moves the cursor. A dispatcher then calls the video
-- provider, with a lease and capped backoff, as slot releases are delivered.

-- How far a consumer inside booking has applied the feed.
CREATE TABLE "appointment_event_cursor" (
    "consumer" TEXT NOT NULL,
    "position" BIGINT NOT NULL,
    "update_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "appointment_event_cursor_pkey" PRIMARY KEY ("consumer"),
    CONSTRAINT "appointment_event_cursor_position_check" CHECK ("position" >= 0)
);

-- The consultation consumer starts at the feed's end: no appointment booked
-- before this migration is a video appointment.
INSERT INTO "appointment_event_cursor" ("consumer", "position")
SELECT 'consultations', greatest((SELECT max("position") FROM "appointment_event"), h."pruned_through")
FROM "appointment_event_horizon" h;

CREATE TYPE "consultation_status" AS ENUM ('creating', 'ready', 'revoking', 'revoked', 'failed');

CREATE TABLE "consultation" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "appointment_id" UUID NOT NULL,
    "status" "consultation_status" NOT NULL DEFAULT 'creating',
    "valid_from" TIMESTAMPTZ(3) NOT NULL,
    "valid_until" TIMESTAMPTZ(3) NOT NULL,
    "provider_room_id" TEXT,
    "patient_join_url" TEXT,
    "doctor_join_url" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "create_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "update_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "consultation_pkey" PRIMARY KEY ("id")
);

-- One room per appointment: applying an event twice records nothing twice.
CREATE UNIQUE INDEX "consultation_appointment_id_key" ON "consultation"("appointment_id");
ALTER TABLE "consultation" ADD CONSTRAINT "consultation_appointment_id_fkey" FOREIGN KEY ("appointment_id") REFERENCES "appointment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The dispatcher's work list: rooms to make and rooms to revoke, by due time.
CREATE INDEX "consultation_due_idx" ON "consultation"("next_attempt_at") WHERE "status" IN ('creating', 'revoking');

ALTER TABLE "consultation" ADD CONSTRAINT "consultation_validity_check" CHECK ("valid_until" > "valid_from");
-- The links exist exactly while the room does (READY, or REVOKING until the
-- provider confirmed), and a room has its provider's name from then on.
ALTER TABLE "consultation" ADD CONSTRAINT "consultation_join_urls_check" CHECK (
    ("status" IN ('ready', 'revoking')) = ("patient_join_url" IS NOT NULL)
    AND ("patient_join_url" IS NULL) = ("doctor_join_url" IS NULL)
);
ALTER TABLE "consultation" ADD CONSTRAINT "consultation_provider_room_id_check" CHECK (
    "provider_room_id" IS NOT NULL OR "status" IN ('creating', 'revoked', 'failed')
);
-- The patient's link is never the doctor's, which may carry a moderator's rights.
ALTER TABLE "consultation" ADD CONSTRAINT "consultation_links_differ_check" CHECK ("patient_join_url" <> "doctor_join_url");
ALTER TABLE "consultation" ADD CONSTRAINT "consultation_last_error_check" CHECK (length("last_error") <= 1000);
