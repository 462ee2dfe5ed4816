import { Modality as ModalityMessage } from '@carebook/proto/catalog';
import { modalityMessage, storedModality } from '@carebook/proto/modality';
import type { RequestValidator } from '@carebook/server';
import { Modality, Prisma } from './generated/prisma/client';

// A slot's modality between the API (the proto enum) and the database (the
// `modality` enum). Unknown enum numbers pass the decoder as plain numbers,
// so every field is checked here and refused by name.

export { Modality };

/**
 * The modality as a SQL literal, not a parameter: a statement that filters on
 * it is prepared once per modality and planned knowing the value, so the
 * partial index of video slots (slot_open_video_doctor_start_time_idx) can
 * serve it, generic plans included.
 */
export const MODALITY_SQL: Record<Modality, Prisma.Sql> = {
  in_person: Prisma.sql`'in_person'::modality`,
  video: Prisma.sql`'video'::modality`,
};

/** The modality as the API shows it. */
export const toModalityMessage = (modality: Modality): ModalityMessage => modalityMessage(modality);

/** A modality filter: undefined when unset (either matches); an unknown value is recorded. */
export function parseModalityFilter(v: RequestValidator, field: string, value: ModalityMessage | undefined): Modality | undefined {
  if (value === undefined || value === ModalityMessage.MODALITY_UNSPECIFIED) return undefined;
  const modality = storedModality(value);
  if (!modality) v.fail(field, `must be MODALITY_IN_PERSON or MODALITY_VIDEO, got ${value}`);
  return modality;
}

/** The modality of what is being made (slots, hours): unset means in person; an unknown value is recorded. */
export function parseModality(v: RequestValidator, field: string, value: ModalityMessage | undefined): Modality {
  return parseModalityFilter(v, field, value) ?? Modality.in_person;
}
