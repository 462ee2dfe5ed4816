-- Schedules: doctors at several clinics, weekly schedules with exceptions, and
-- slots materialised from them. See docs/design.md, "Availability".
-- The first part is what `prisma migrate dev` writes for schema.prisma; the
-- second part holds the invariants Prisma cannot express, each one named.

-- CreateEnum
CREATE TYPE "schedule_exception_kind" AS ENUM ('closed', 'extra');

-- AlterTable
ALTER TABLE "slot" ADD COLUMN "schedule_id" UUID;

-- CreateTable
CREATE TABLE "doctor_clinic" (
    "doctor_id" UUID NOT NULL,
    "clinic_id" UUID NOT NULL,
    "create_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "doctor_clinic_pkey" PRIMARY KEY ("doctor_id","clinic_id")
);

-- CreateTable
CREATE TABLE "schedule" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "doctor_id" UUID NOT NULL,
    "clinic_id" UUID NOT NULL,
    "slot_duration_minutes" INTEGER NOT NULL,
    "valid_from" DATE NOT NULL,
    "valid_until" DATE,
    "materialised_through" DATE,
    "create_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "update_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "schedule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "schedule_rule" (
    "schedule_id" UUID NOT NULL,
    "day_of_week" SMALLINT NOT NULL,
    "start_local_time" TIME(0) NOT NULL,
    "end_local_time" TIME(0) NOT NULL,

    CONSTRAINT "schedule_rule_pkey" PRIMARY KEY ("schedule_id","day_of_week","start_local_time")
);

-- CreateTable
CREATE TABLE "schedule_exception" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "schedule_id" UUID NOT NULL,
    "date" DATE NOT NULL,
    "kind" "schedule_exception_kind" NOT NULL,
    "start_local_time" TIME(0),
    "end_local_time" TIME(0),
    "create_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "schedule_exception_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "doctor_clinic_clinic_id_doctor_id_idx" ON "doctor_clinic"("clinic_id", "doctor_id");

-- CreateIndex
CREATE INDEX "schedule_doctor_id_create_time_id_idx" ON "schedule"("doctor_id", "create_time", "id");

-- CreateIndex
CREATE INDEX "schedule_exception_schedule_id_date_idx" ON "schedule_exception"("schedule_id", "date");

-- Every existing doctor practises at its primary clinic. Backfilled before the
-- foreign keys below, which need the links.
INSERT INTO "doctor_clinic" ("doctor_id", "clinic_id", "create_time")
SELECT "id", "clinic_id", "create_time" FROM "doctor";

-- AddForeignKey
ALTER TABLE "slot" ADD CONSTRAINT "slot_schedule_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "schedule"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "slot" ADD CONSTRAINT "slot_doctor_id_clinic_id_fkey" FOREIGN KEY ("doctor_id", "clinic_id") REFERENCES "doctor_clinic"("doctor_id", "clinic_id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "doctor_clinic" ADD CONSTRAINT "doctor_clinic_doctor_id_fkey" FOREIGN KEY ("doctor_id") REFERENCES "doctor"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "doctor_clinic" ADD CONSTRAINT "doctor_clinic_clinic_id_fkey" FOREIGN KEY ("clinic_id") REFERENCES "clinic"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedule" ADD CONSTRAINT "schedule_doctor_id_clinic_id_fkey" FOREIGN KEY ("doctor_id", "clinic_id") REFERENCES "doctor_clinic"("doctor_id", "clinic_id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedule_rule" ADD CONSTRAINT "schedule_rule_schedule_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "schedule"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedule_exception" ADD CONSTRAINT "schedule_exception_schedule_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "schedule"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Invariants -----------------------------------------------------------------

-- Slots are whole minutes, at least 5 (which bounds how many rows one
-- schedule materialises) and at most a day, like slot_time_order_check.
ALTER TABLE "schedule" ADD CONSTRAINT "schedule_slot_duration_minutes_check"
    CHECK ("slot_duration_minutes" BETWEEN 5 AND 1440);

-- valid_until is inclusive and may be open (NULL).
ALTER TABLE "schedule" ADD CONSTRAINT "schedule_validity_check"
    CHECK ("valid_until" >= "valid_from");

-- ISO days of the week, 1 = Monday ... 7 = Sunday (google.type.DayOfWeek's numbers).
ALTER TABLE "schedule_rule" ADD CONSTRAINT "schedule_rule_day_of_week_check"
    CHECK ("day_of_week" BETWEEN 1 AND 7);

-- Hours end after they start, on the same day ('24:00' is the day's end).
ALTER TABLE "schedule_rule" ADD CONSTRAINT "schedule_rule_time_order_check"
    CHECK ("end_local_time" > "start_local_time");

-- A schedule's weekly hours never overlap on one day. Seconds since midnight
-- as half-open ranges, so 09:00-12:30 and 12:30-17:00 may touch. (Overlaps
-- with the doctor's other schedules cross tables and time zones; the service
-- checks those under a lock on the doctor.)
ALTER TABLE "schedule_rule" ADD CONSTRAINT "schedule_rule_no_overlap"
    EXCLUDE USING gist ("schedule_id" WITH =, "day_of_week" WITH =,
        numrange(extract(epoch FROM "start_local_time"), extract(epoch FROM "end_local_time"), '[)') WITH &&);

-- Closed days carry no hours; extra hours end after they start.
ALTER TABLE "schedule_exception" ADD CONSTRAINT "schedule_exception_hours_check"
    CHECK (("kind" = 'closed' AND "start_local_time" IS NULL AND "end_local_time" IS NULL)
        OR ("kind" = 'extra' AND "start_local_time" IS NOT NULL AND "end_local_time" > "start_local_time"));

-- One closed exception per date and schedule.
CREATE UNIQUE INDEX "schedule_exception_closed_key" ON "schedule_exception"("schedule_id", "date") WHERE "kind" = 'closed';

-- Extra hours of one date never overlap each other.
ALTER TABLE "schedule_exception" ADD CONSTRAINT "schedule_exception_extra_no_overlap"
    EXCLUDE USING gist ("schedule_id" WITH =, "date" WITH =,
        numrange(extract(epoch FROM "start_local_time"), extract(epoch FROM "end_local_time"), '[)') WITH &&)
    WHERE ("kind" = 'extra');

-- Materialisation is idempotent: a schedule makes at most one slot starting
-- at a given instant, so re-running it (on any replica) inserts nothing twice;
-- also the lookup of a schedule's slots. Manual slots (no schedule) stay out.
CREATE UNIQUE INDEX "slot_schedule_id_start_time_key" ON "slot"("schedule_id", "start_time") WHERE "schedule_id" IS NOT NULL;
