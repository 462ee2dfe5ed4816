-- A doctor's specialty is kept in lower case, so that a search by specialty
-- matches it whatever case the caller used (CreateDoctor lower-cases it, and
-- SearchSlots and FindNextAvailable lower-case their filter). Until now only
-- the code said so; these CHECKs make the database refuse anything else,
-- whoever writes. slot.specialty is a copy of doctor.specialty (the foreign
-- key slot_doctor_id_specialty_fkey), so it carries the same rule.
-- lower() follows the database's LC_CTYPE: under the C locale it folds only
-- ASCII letters, so there the check refuses only ASCII upper case.

-- Rows written by the services are lower case already; a row written around
-- them would make the CHECKs below fail. Lower-case it first (the foreign
-- key's ON UPDATE CASCADE carries the change to the doctor's slots).
UPDATE "doctor" SET "specialty" = lower("specialty") WHERE "specialty" <> lower("specialty");

ALTER TABLE "doctor" ADD CONSTRAINT "doctor_specialty_lower_case_check" CHECK ("specialty" = lower("specialty"));
ALTER TABLE "slot" ADD CONSTRAINT "slot_specialty_lower_case_check" CHECK ("specialty" = lower("specialty"));
