-- One catalog call per booking: the PENDING appointment is written with its
-- slot id only, and the slot's facts (doctor, clinic, times, modality) are
-- filled in by the statement that settles it from ClaimSlot's answer. So the
-- facts are NULL while PENDING, and may stay NULL on a FAILED appointment
-- whose slot was never granted to it; every other status has them. The
-- existing checks hold with NULLs (a CHECK passes on NULL), and the event
-- trigger fires on BOOKED and CANCELLED rows only, which have them.
ALTER TABLE "appointment" ALTER COLUMN "doctor_id" DROP NOT NULL,
    ALTER COLUMN "clinic_id" DROP NOT NULL,
    ALTER COLUMN "start_time" DROP NOT NULL,
    ALTER COLUMN "end_time" DROP NOT NULL,
    ALTER COLUMN "modality" DROP NOT NULL;

-- All five facts or none, and none only while PENDING or once FAILED.
ALTER TABLE "appointment" ADD CONSTRAINT "appointment_slot_facts_check" CHECK (
    num_nulls("doctor_id", "clinic_id", "start_time", "end_time", "modality") = 0
    OR (num_nulls("doctor_id", "clinic_id", "start_time", "end_time", "modality") = 5 AND "status" IN ('pending', 'failed')));
