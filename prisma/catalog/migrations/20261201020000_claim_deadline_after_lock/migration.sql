-- A claim's deadline, judged again once the claim holds the slot's row lock.
-- The claim's WHERE reads the clock when it first meets the row; after a wait
-- for the row lock, PostgreSQL evaluates that WHERE again only if the
-- transaction it waited for changed the row and committed. Behind one that
-- only locked the row, or rolled back, a claim could land after its deadline
-- (up to its statement_timeout). A BEFORE UPDATE trigger runs after the row
-- lock is taken, right before the write: it skips the write once the claim's
-- deadline has passed by the database's clock. The claim statement hands its
-- deadline over in the transaction-local setting carebook.claim_deadline
-- (empty: no deadline). Releases (claim_id set to NULL) and a claim's
-- idempotent retry (claim_id unchanged) are not judged.

CREATE FUNCTION "slot_claim_within_deadline"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    deadline text := current_setting('carebook.claim_deadline', true);
BEGIN
    IF deadline <> '' AND clock_timestamp() >= deadline::timestamptz THEN
        RETURN NULL; -- too late: this row is not written, and the claim matches nothing
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER "slot_claim_within_deadline" BEFORE UPDATE OF "claim_id" ON "slot"
    FOR EACH ROW WHEN (NEW."claim_id" IS NOT NULL AND NEW."claim_id" IS DISTINCT FROM OLD."claim_id")
    EXECUTE FUNCTION "slot_claim_within_deadline"();
