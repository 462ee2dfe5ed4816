-- Holds that expire. A held slot names its claim (slot_claim_matches_status_check
-- already says so for every slot that is not open) and the instant its hold
-- lapses, by this database's clock. A hold past that instant is open to any
-- claim: the claim's conditional UPDATE says so, so nothing has to sweep
-- lapsed holds for the slot to be booked again.
ALTER TABLE "slot" ADD COLUMN "hold_expire_time" TIMESTAMPTZ(3);

-- A held slot always says when its hold lapses, and no other slot does.
ALTER TABLE "slot" ADD CONSTRAINT "slot_hold_matches_status_check"
    CHECK (("status" = 'held') = ("hold_expire_time" IS NOT NULL));

-- Held slots by expiry: the light periodic pass that opens lapsed holds again,
-- so that they show in search (whose slot_open_* indexes hold open slots only).
CREATE INDEX "slot_held_hold_expire_time_idx" ON "slot"("hold_expire_time") WHERE "status" = 'held';

-- The deadline is judged again after the row lock whenever a claim changes
-- what the slot says about it: a new claim, as before, and now also the same
-- claim turning its hold into a booking (the confirmation, whose deadline is
-- the hold's expiry) or renewing a lapsed hold. The function is unchanged.
CREATE OR REPLACE TRIGGER "slot_claim_within_deadline" BEFORE UPDATE OF "claim_id", "status", "hold_expire_time" ON "slot"
    FOR EACH ROW WHEN (NEW."claim_id" IS NOT NULL AND (
        NEW."claim_id" IS DISTINCT FROM OLD."claim_id"
        OR NEW."status" IS DISTINCT FROM OLD."status"
        OR NEW."hold_expire_time" IS DISTINCT FROM OLD."hold_expire_time"))
    EXECUTE FUNCTION "slot_claim_within_deadline"();
