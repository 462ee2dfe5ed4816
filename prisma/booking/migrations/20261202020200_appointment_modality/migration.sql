-- An appointment copies its slot's modality (in person or video), as it
-- copies the slot's times, so lists, reminders and the event feed need no
-- call to catalog. Every appointment made so far was of an in-person slot:
-- catalog's own migration made every existing slot in person. The default
-- only fills those rows; afterwards booking always writes the slot's.
CREATE TYPE "modality" AS ENUM ('in_person', 'video');
ALTER TABLE "appointment" ADD COLUMN "modality" "modality" NOT NULL DEFAULT 'in_person';
ALTER TABLE "appointment" ALTER COLUMN "modality" DROP DEFAULT;
