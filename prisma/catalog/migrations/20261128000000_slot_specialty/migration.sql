-- The doctor's specialty copied onto each slot, so a search by specialty is
-- one range scan of an index on (specialty, start_time, id) instead of one
-- per doctor of the specialty. The database keeps the copy equal to the
-- doctor's: a foreign key on (doctor_id, specialty), which also follows a
-- change of the doctor's specialty. See docs/design.md, "Search".
-- The first part is what `prisma migrate dev` writes for schema.prisma; the
-- second part holds what Prisma cannot express, each one named.

-- AlterTable
ALTER TABLE "slot" ADD COLUMN "specialty" TEXT;

-- Backfilled before NOT NULL and the foreign key below, which need it.
UPDATE "slot" s SET "specialty" = d."specialty" FROM "doctor" d WHERE d."id" = s."doctor_id";

ALTER TABLE "slot" ALTER COLUMN "specialty" SET NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "doctor_id_specialty_key" ON "doctor"("id", "specialty");

-- The composite key implies the slot's doctor exists (specialty is NOT
-- NULL), so it replaces the foreign key on doctor_id alone.
-- DropForeignKey
ALTER TABLE "slot" DROP CONSTRAINT "slot_doctor_id_fkey";

-- AddForeignKey
ALTER TABLE "slot" ADD CONSTRAINT "slot_doctor_id_specialty_fkey" FOREIGN KEY ("doctor_id", "specialty") REFERENCES "doctor"("id", "specialty") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Invariants -----------------------------------------------------------------

-- Writers need not know about the copy: an INSERT without a specialty takes
-- the doctor's (CreateSlots' Prisma insert supplies it anyway; the
-- materialiser and raw inserts do not). A bulk load that supplies it skips
-- the lookup: the WHEN clause is checked without calling the function, and
-- the foreign key still checks what was supplied.
CREATE FUNCTION "slot_specialty_from_doctor"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT d."specialty" INTO NEW."specialty" FROM "doctor" d WHERE d."id" = NEW."doctor_id";
    -- An unknown doctor would otherwise surface as a NOT NULL violation on
    -- specialty, which is checked before the foreign key; report it as the
    -- foreign key would.
    IF NOT FOUND THEN
        RAISE foreign_key_violation USING
            MESSAGE = format('insert or update on table "slot" violates foreign key constraint "slot_doctor_id_specialty_fkey": doctor %s does not exist', NEW."doctor_id"),
            TABLE = 'slot', CONSTRAINT = 'slot_doctor_id_specialty_fkey';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER "slot_specialty_from_doctor" BEFORE INSERT ON "slot"
    FOR EACH ROW WHEN (NEW."specialty" IS NULL) EXECUTE FUNCTION "slot_specialty_from_doctor"();

-- SearchSlots by specialty (with or without a local window): the open slots
-- of the specialty in (start_time, id) order, a page being one range scan of
-- about page-size rows. Partial, like the other slot_open_* indexes.
CREATE INDEX "slot_open_specialty_start_time_idx" ON "slot"("specialty", "start_time", "id") WHERE "status" = 'open';
