-- Modality: a slot is in person (at its clinic) or by video. A schedule's
-- weekly rule, and an extra-hours exception, say which modality their hours
-- are, and the slots materialised from them carry it. A doctor is in one
-- visit at a time whatever the modality, so slot_doctor_no_overlap and the
-- schedule overlap checks stay as they are: across modalities.
-- Existing slots and rules are in person: the column default fills them
-- without rewriting the table (PostgreSQL stores a constant default once).
-- The first part is what `prisma migrate dev` writes for schema.prisma; the
-- second part holds what Prisma cannot express, each one named.
-- See docs/search.md and docs/schedules.md.

-- CreateEnum
CREATE TYPE "modality" AS ENUM ('in_person', 'video');

-- AlterTable
ALTER TABLE "slot" ADD COLUMN "modality" "modality" NOT NULL DEFAULT 'in_person';

-- AlterTable
ALTER TABLE "schedule_rule" ADD COLUMN "modality" "modality" NOT NULL DEFAULT 'in_person';

-- AlterTable
ALTER TABLE "schedule_exception" ADD COLUMN "modality" "modality";

-- Existing extra hours are in person; backfilled before the CHECK below.
UPDATE "schedule_exception" SET "modality" = 'in_person' WHERE "kind" = 'extra';

-- Invariants -----------------------------------------------------------------

-- Extra hours have a modality; a closed day has none (it closes the weekly
-- hours of both modalities), like its hours.
ALTER TABLE "schedule_exception" ADD CONSTRAINT "schedule_exception_modality_check"
    CHECK (("kind" = 'extra') = ("modality" IS NOT NULL));

-- The open video slots of each doctor in (start_time, id) order. Without it a
-- search for video slots by doctor (FindNextAvailable's probe per doctor,
-- and Doctor.modalities) reads through every open in-person slot of each
-- doctor that has no video slot: measured on search-plans.test.ts's data,
-- FindNextAvailable(VIDEO) read 70,400 slot index entries for 20 results at
-- 60 slots per doctor and 230,400 at 240; with it, 400 at either
-- (docs/search.md, section 6). Partial, so in-person slots never enter it;
-- the build scans slot once (no existing row is video).
CREATE INDEX "slot_open_video_doctor_start_time_idx" ON "slot"("doctor_id", "start_time", "id") WHERE "status" = 'open' AND "modality" = 'video';
