import { Modality as ModalityMessage } from '@carebook/proto/catalog';
import { Modality } from '../generated/prisma/client';

// An appointment's modality, copied from its slot: between catalog's proto
// enum, which both APIs show, and booking's `modality` column.

export { Modality };

const STORED: Partial<Record<number, Modality>> = {
  [ModalityMessage.MODALITY_IN_PERSON]: Modality.in_person,
  [ModalityMessage.MODALITY_VIDEO]: Modality.video,
};

const MESSAGE: Record<Modality, ModalityMessage> = {
  in_person: ModalityMessage.MODALITY_IN_PERSON,
  video: ModalityMessage.MODALITY_VIDEO,
};

/** A slot's modality as catalog shows it; catalog promises one, so anything else is its bug. */
export function slotModality(value: ModalityMessage): Modality {
  const modality = STORED[value];
  if (!modality) throw new Error(`catalog returned a slot of modality ${value}`);
  return modality;
}

/** The modality as the API shows it; UNSPECIFIED while the appointment has none (not yet granted its slot). */
export const toModalityMessage = (modality: Modality | null): ModalityMessage => (modality ? MESSAGE[modality] : ModalityMessage.MODALITY_UNSPECIFIED);
