-- Slot conflicts: a BOOKED appointment whose slot catalog no longer holds for
-- it (someone with the internal credential released it, or an operator edited
-- catalog's database). booking finds out when another claim on the slot wins
-- in catalog and then collides with appointment_one_booked_per_slot_key. The
-- conflict is recorded once, and the reconciler claims the slot back for the
-- booked appointment as soon as the stray claim has been released.

-- CreateEnum
CREATE TYPE "slot_conflict_resolution" AS ENUM ('reclaimed', 'not_booked', 'slot_gone');

-- CreateTable
CREATE TABLE "slot_conflict" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "appointment_id" UUID NOT NULL,
    "slot_id" UUID NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "detect_time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolve_time" TIMESTAMPTZ(3),
    "resolution" "slot_conflict_resolution",

    CONSTRAINT "slot_conflict_pkey" PRIMARY KEY ("id")
);

-- AddForeignKey
ALTER TABLE "slot_conflict" ADD CONSTRAINT "slot_conflict_appointment_id_fkey" FOREIGN KEY ("appointment_id") REFERENCES "appointment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Invariants -----------------------------------------------------------------

-- Recorded once: at most one open conflict per appointment.
CREATE UNIQUE INDEX "slot_conflict_one_open_per_appointment_key" ON "slot_conflict"("appointment_id") WHERE "resolve_time" IS NULL;

-- Resolved exactly when it says how.
ALTER TABLE "slot_conflict" ADD CONSTRAINT "slot_conflict_resolution_check" CHECK (("resolve_time" IS NULL) = ("resolution" IS NULL));
