import { Modality as ModalityMessage } from '@carebook/proto/catalog';
import { modalityMessage, storedModality } from '@carebook/proto/modality';
import { Modality } from '../generated/prisma/client';

// An appointment's modality, copied from its slot: between catalog's proto
// enum, which both APIs show, and booking's `modality` column.

export { Modality };

/** A slot's modality as catalog shows it; catalog promises one, so anything else is its bug. */
export function slotModality(value: ModalityMessage): Modality {
  const modality = storedModality(value);
  if (!modality) throw new Error(`catalog returned a slot of modality ${value}`);
  return modality;
}

/** The modality as the API shows it; UNSPECIFIED while the appointment has none (not yet granted its slot). */
export const toModalityMessage = (modality: Modality | null): ModalityMessage => (modality ? modalityMessage(modality) : ModalityMessage.MODALITY_UNSPECIFIED);
