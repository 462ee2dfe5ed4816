-- The appointment event feed (docs/design.md §2.7): an outbox row for every
-- booking, cancellation and reschedule, written by a trigger in the
-- transaction that makes the change, so no code path can change an
-- appointment without its event. Positions are given after commit by the
-- sequencer, one at a time, which makes them dense and commit-ordered.

-- Who cancelled; NULL on a cancellation made by a reschedule.
CREATE TYPE "canceller" AS ENUM ('patient', 'clinic', 'system');
ALTER TABLE "appointment" ADD COLUMN "cancelled_by" "canceller";
UPDATE "appointment" a SET "cancelled_by" = 'patient'
WHERE a."status" = 'cancelled'
  AND NOT EXISTS (SELECT 1 FROM "appointment" r WHERE r."replaces_appointment_id" = a."id" AND r."status" = 'booked');
ALTER TABLE "appointment" ADD CONSTRAINT "appointment_cancelled_by_check" CHECK ("cancelled_by" IS NULL OR "status" = 'cancelled');

-- Reminder consent per channel, on unless the patient says otherwise.
ALTER TABLE "patient" ADD COLUMN "email_reminders" BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE "patient" ADD COLUMN "sms_reminders" BOOLEAN NOT NULL DEFAULT true;

CREATE TYPE "appointment_event_type" AS ENUM ('booked', 'cancelled', 'rescheduled');

CREATE TABLE "appointment_event" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    -- Insertion order, from a sequence: handed out in one order, committed
    -- in another, so never shown to readers; the sequencer orders by it.
    "seq" BIGSERIAL NOT NULL,
    -- The feed position, NULL until the sequencer gives it.
    "position" BIGINT,
    "type" "appointment_event_type" NOT NULL,
    "appointment_id" UUID NOT NULL,
    "replaced_appointment_id" UUID,
    -- The appointment rows as the change left them (to_jsonb of the row).
    "snapshot" JSONB NOT NULL,
    "replaced_snapshot" JSONB,
    "event_time" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),

    CONSTRAINT "appointment_event_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "appointment_event_position_key" ON "appointment_event"("position");
-- What the sequencer reads: events not yet positioned, in insertion order.
CREATE INDEX "appointment_event_unpositioned_seq_idx" ON "appointment_event"("seq") WHERE "position" IS NULL;
ALTER TABLE "appointment_event" ADD CONSTRAINT "appointment_event_appointment_id_fkey" FOREIGN KEY ("appointment_id") REFERENCES "appointment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "appointment_event" ADD CONSTRAINT "appointment_event_replaced_check"
    CHECK (("type" = 'rescheduled') = ("replaced_appointment_id" IS NOT NULL AND "replaced_snapshot" IS NOT NULL));

-- The last position retention has deleted through: a cursor before it has
-- missed events. One row.
CREATE TABLE "appointment_event_horizon" (
    "id" BOOLEAN NOT NULL DEFAULT true,
    "pruned_through" BIGINT NOT NULL DEFAULT '0'::bigint,

    CONSTRAINT "appointment_event_horizon_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "appointment_event_horizon_one_row_check" CHECK ("id")
);
INSERT INTO "appointment_event_horizon" DEFAULT VALUES;

-- Runs at commit (a deferred constraint trigger), when a reschedule has both
-- booked the new appointment and cancelled the old one: the event then shows
-- both as they end, and the old one's cancellation is told by the
-- reschedule, not as a cancellation of its own.
CREATE FUNCTION "record_appointment_event"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  current "appointment";
  replaced "appointment";
BEGIN
  SELECT * INTO current FROM "appointment" WHERE "id" = NEW."id";
  -- Changed again later in the same transaction: that change records its own event.
  IF current."status" IS DISTINCT FROM NEW."status" THEN
    RETURN NULL;
  END IF;
  IF NEW."status" = 'booked' AND NEW."replaces_appointment_id" IS NULL THEN
    INSERT INTO "appointment_event" ("type", "appointment_id", "snapshot")
    VALUES ('booked', NEW."id", to_jsonb(current));
  ELSIF NEW."status" = 'booked' THEN
    SELECT * INTO replaced FROM "appointment" WHERE "id" = NEW."replaces_appointment_id";
    INSERT INTO "appointment_event" ("type", "appointment_id", "snapshot", "replaced_appointment_id", "replaced_snapshot")
    VALUES ('rescheduled', NEW."id", to_jsonb(current), replaced."id", to_jsonb(replaced));
  ELSIF NEW."status" = 'cancelled' AND NOT EXISTS (
    SELECT 1 FROM "appointment" r WHERE r."replaces_appointment_id" = NEW."id" AND r."status" = 'booked'
  ) THEN
    INSERT INTO "appointment_event" ("type", "appointment_id", "snapshot")
    VALUES ('cancelled', NEW."id", to_jsonb(current));
  END IF;
  RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER "appointment_event_on_status_change"
AFTER UPDATE OF "status" ON "appointment"
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (OLD."status" IS DISTINCT FROM NEW."status" AND NEW."status" IN ('booked', 'cancelled'))
EXECUTE FUNCTION "record_appointment_event"();
