-- Booking schema: patients, appointments, the slot-release outbox.
-- The first part is what `prisma migrate dev` writes for schema.prisma; the
-- second part holds the invariants Prisma cannot express, each one named.
-- Times are kept to the millisecond, the precision of protobuf clients' JS
-- Dates, so keyset cursors taken from API values compare exactly.

-- CreateEnum
CREATE TYPE "appointment_status" AS ENUM ('pending', 'booked', 'cancelled', 'failed');

-- CreateTable
CREATE TABLE "patient" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "display_name" TEXT NOT NULL,
    "email" TEXT,
    "phone" TEXT,
    "birth_date" DATE NOT NULL,
    "create_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "update_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "patient_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "appointment" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "patient_id" UUID NOT NULL,
    "request_id" TEXT NOT NULL,
    "slot_id" UUID NOT NULL,
    "doctor_id" UUID NOT NULL,
    "clinic_id" UUID NOT NULL,
    "start_time" TIMESTAMPTZ(3) NOT NULL,
    "end_time" TIMESTAMPTZ(3) NOT NULL,
    "status" "appointment_status" NOT NULL DEFAULT 'pending',
    "reason" TEXT NOT NULL DEFAULT '',
    "cancel_reason" TEXT,
    "replaces_appointment_id" UUID,
    "create_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "update_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "appointment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "slot_release" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "slot_id" UUID NOT NULL,
    "claim_id" UUID NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "create_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "done_time" TIMESTAMPTZ(3),

    CONSTRAINT "slot_release_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "appointment_patient_id_request_id_key" ON "appointment"("patient_id", "request_id");

-- CreateIndex
CREATE INDEX "appointment_patient_id_start_time_id_idx" ON "appointment"("patient_id", "start_time", "id");

-- CreateIndex
CREATE INDEX "appointment_doctor_id_start_time_id_idx" ON "appointment"("doctor_id", "start_time", "id");

-- CreateIndex
CREATE UNIQUE INDEX "slot_release_slot_id_claim_id_key" ON "slot_release"("slot_id", "claim_id");

-- AddForeignKey
ALTER TABLE "appointment" ADD CONSTRAINT "appointment_patient_id_fkey" FOREIGN KEY ("patient_id") REFERENCES "patient"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "appointment" ADD CONSTRAINT "appointment_replaces_appointment_id_fkey" FOREIGN KEY ("replaces_appointment_id") REFERENCES "appointment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Invariants -----------------------------------------------------------------

-- At most one live (pending or booked) appointment replaces a given one, so
-- two racing reschedules of one appointment cannot both go ahead.
CREATE UNIQUE INDEX "appointment_one_live_replacement_key" ON "appointment"("replaces_appointment_id")
    WHERE "replaces_appointment_id" IS NOT NULL AND "status" IN ('pending', 'booked');

-- Second line of defence behind catalog's claim: one booked appointment per slot.
CREATE UNIQUE INDEX "appointment_one_booked_per_slot_key" ON "appointment"("slot_id") WHERE "status" = 'booked';

-- The reconciler's work list: pending appointments by age.
CREATE INDEX "appointment_pending_create_time_idx" ON "appointment"("create_time") WHERE "status" = 'pending';

-- The dispatcher's work list: releases not yet confirmed, by due time.
CREATE INDEX "slot_release_due_idx" ON "slot_release"("next_attempt_at") WHERE "done_time" IS NULL;

ALTER TABLE "appointment" ADD CONSTRAINT "appointment_time_order_check" CHECK ("end_time" > "start_time");
ALTER TABLE "appointment" ADD CONSTRAINT "appointment_cancel_reason_check"
    CHECK (("status" = 'cancelled') = ("cancel_reason" IS NOT NULL));
ALTER TABLE "appointment" ADD CONSTRAINT "appointment_request_id_check" CHECK (btrim("request_id") <> '');
ALTER TABLE "patient" ADD CONSTRAINT "patient_display_name_check" CHECK (btrim("display_name") <> '');
ALTER TABLE "patient" ADD CONSTRAINT "patient_contact_check" CHECK ("email" IS NOT NULL OR "phone" IS NOT NULL);
