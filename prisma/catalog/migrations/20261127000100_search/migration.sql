-- Search: clinic locations for searches by distance, and the index behind the
-- (clinic, doctor) pairs of FindNextAvailable and of SearchSlots by distance
-- and specialty. See docs/design.md, "Search".

-- AlterTable
ALTER TABLE "clinic" ADD COLUMN "latitude" DOUBLE PRECISION,
ADD COLUMN "longitude" DOUBLE PRECISION;

-- CreateIndex
CREATE INDEX "clinic_latitude_longitude_idx" ON "clinic"("latitude", "longitude");

-- Invariants -----------------------------------------------------------------

-- Coordinates are degrees in range (NaN fails BETWEEN), and a clinic has both
-- or neither.
ALTER TABLE "clinic" ADD CONSTRAINT "clinic_latitude_check" CHECK ("latitude" BETWEEN -90 AND 90);
ALTER TABLE "clinic" ADD CONSTRAINT "clinic_longitude_check" CHECK ("longitude" BETWEEN -180 AND 180);
ALTER TABLE "clinic" ADD CONSTRAINT "clinic_location_check" CHECK (("latitude" IS NULL) = ("longitude" IS NULL));

-- Open slots of one doctor at one clinic in (start_time, id) order. Two uses:
-- a loose index scan over (clinic_id, doctor_id) lists the doctors with open
-- slots at a clinic, one index probe per doctor; and each such pair's first
-- slots are then one more probe. Partial, like the other slot_open_* indexes.
CREATE INDEX "slot_open_clinic_doctor_start_time_idx" ON "slot"("clinic_id", "doctor_id", "start_time", "id") WHERE "status" = 'open';
