-- Catalog schema: clinics, doctors, slots.
-- The first part is what `prisma migrate dev` writes for schema.prisma; the
-- second part holds the invariants Prisma cannot express, each one named.
-- Times are kept to the millisecond, the precision of protobuf clients' JS
-- Dates, so keyset cursors taken from API values compare exactly.

-- btree_gist lets the exclusion constraint compare uuids with `=`.
CREATE EXTENSION IF NOT EXISTS "btree_gist";

-- CreateEnum
CREATE TYPE "slot_status" AS ENUM ('open', 'booked');

-- CreateTable
CREATE TABLE "clinic" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "display_name" TEXT NOT NULL,
    "time_zone" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "create_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "update_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "clinic_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "doctor" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "clinic_id" UUID NOT NULL,
    "display_name" TEXT NOT NULL,
    "specialty" TEXT NOT NULL,
    "create_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "update_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "doctor_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "slot" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "doctor_id" UUID NOT NULL,
    "clinic_id" UUID NOT NULL,
    "start_time" TIMESTAMPTZ(3) NOT NULL,
    "end_time" TIMESTAMPTZ(3) NOT NULL,
    "status" "slot_status" NOT NULL DEFAULT 'open',
    "claim_id" UUID,
    "create_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "update_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "slot_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "clinic_create_time_id_idx" ON "clinic"("create_time", "id");

-- CreateIndex
CREATE INDEX "doctor_clinic_id_create_time_id_idx" ON "doctor"("clinic_id", "create_time", "id");

-- CreateIndex
CREATE INDEX "doctor_specialty_create_time_id_idx" ON "doctor"("specialty", "create_time", "id");

-- CreateIndex
CREATE INDEX "doctor_create_time_id_idx" ON "doctor"("create_time", "id");

-- AddForeignKey
ALTER TABLE "doctor" ADD CONSTRAINT "doctor_clinic_id_fkey" FOREIGN KEY ("clinic_id") REFERENCES "clinic"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "slot" ADD CONSTRAINT "slot_doctor_id_fkey" FOREIGN KEY ("doctor_id") REFERENCES "doctor"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "slot" ADD CONSTRAINT "slot_clinic_id_fkey" FOREIGN KEY ("clinic_id") REFERENCES "clinic"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Invariants -----------------------------------------------------------------

-- A doctor is never in two places at once: no two slots of one doctor overlap.
-- Half-open ranges, so back-to-back slots (10:00-10:20, 10:20-10:40) are fine.
ALTER TABLE "slot" ADD CONSTRAINT "slot_doctor_no_overlap"
    EXCLUDE USING gist ("doctor_id" WITH =, tstzrange("start_time", "end_time", '[)') WITH &&);

-- A slot ends after it starts and lasts at most a day.
ALTER TABLE "slot" ADD CONSTRAINT "slot_time_order_check"
    CHECK ("end_time" > "start_time" AND "end_time" - "start_time" <= INTERVAL '24 hours');

-- A booked slot always names its claim, and an open one never does: the claim
-- and the status cannot drift apart.
ALTER TABLE "slot" ADD CONSTRAINT "slot_claim_matches_status_check"
    CHECK (("status" = 'open') = ("claim_id" IS NULL));

-- Names are not blank; time zones are validated against IANA in code.
ALTER TABLE "clinic" ADD CONSTRAINT "clinic_display_name_check" CHECK (btrim("display_name") <> '');
ALTER TABLE "doctor" ADD CONSTRAINT "doctor_display_name_check" CHECK (btrim("display_name") <> '');
ALTER TABLE "doctor" ADD CONSTRAINT "doctor_specialty_check" CHECK (btrim("specialty") <> '');

-- Search reads open slots in (start_time, id) order, the keyset of its
-- pagination. Partial indexes keep booked slots out of them.
CREATE INDEX "slot_open_start_time_idx" ON "slot"("start_time", "id") WHERE "status" = 'open';
CREATE INDEX "slot_open_doctor_start_time_idx" ON "slot"("doctor_id", "start_time", "id") WHERE "status" = 'open';
CREATE INDEX "slot_open_clinic_start_time_idx" ON "slot"("clinic_id", "start_time", "id") WHERE "status" = 'open';
