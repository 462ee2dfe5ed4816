-- Holds that expire. A hold records the duration it asked for (so a retry or
-- the reconciler can finish it as a hold) and, once catalog held the slot,
-- catalog's instant at which the hold lapses.
ALTER TABLE "appointment" ADD COLUMN "hold_duration_ms" INTEGER;
ALTER TABLE "appointment" ADD COLUMN "hold_expire_time" TIMESTAMPTZ(3);

-- More than 0, at most 15 minutes: what HoldAppointment accepts.
ALTER TABLE "appointment" ADD CONSTRAINT "appointment_hold_duration_ms_check"
    CHECK ("hold_duration_ms" > 0 AND "hold_duration_ms" <= 900000);

-- A HELD or EXPIRED appointment says when its hold lapses (or lapsed), and
-- only a hold has an expiry.
ALTER TABLE "appointment" ADD CONSTRAINT "appointment_hold_check"
    CHECK (("status" NOT IN ('held', 'expired') OR "hold_expire_time" IS NOT NULL)
       AND ("hold_expire_time" IS NULL OR "hold_duration_ms" IS NOT NULL));

-- A slot has at most one appointment that holds it, HELD or BOOKED. Replaces
-- appointment_one_booked_per_slot_key. An appointment whose hold lapsed stays
-- HELD here until it is settled; a claim catalog granted over it settles it
-- EXPIRED first (catalog's grant proves the hold lapsed).
DROP INDEX "appointment_one_booked_per_slot_key";
CREATE UNIQUE INDEX "appointment_one_holder_per_slot_key" ON "appointment"("slot_id") WHERE "status" IN ('held', 'booked');

-- The reconciler's list of holds to settle once lapsed, by expiry.
CREATE INDEX "appointment_held_hold_expire_time_idx" ON "appointment"("hold_expire_time") WHERE "status" = 'held';

-- The event feed tells bookings, not holds: HELD and EXPIRED write no event
-- (the trigger fires for BOOKED and CANCELLED only), a confirmed hold becomes
-- BOOKED and writes its BOOKED event, and a hold cancelled before it was
-- confirmed was never booked, so it writes no CANCELLED event either
-- (notifications would tell the patient of a visit never confirmed).
CREATE OR REPLACE FUNCTION "record_appointment_event"() RETURNS trigger LANGUAGE plpgsql AS $$
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
  ELSIF NEW."status" = 'cancelled' AND OLD."status" = 'booked' AND NOT EXISTS (
    SELECT 1 FROM "appointment" r WHERE r."replaces_appointment_id" = NEW."id" AND r."status" = 'booked'
  ) THEN
    INSERT INTO "appointment_event" ("type", "appointment_id", "snapshot")
    VALUES ('cancelled', NEW."id", to_jsonb(current));
  END IF;
  RETURN NULL;
END;
$$;
