import { Modality } from './catalog';

// A modality between the API (catalog's proto enum, which booking's API
// shows too) and the databases, whose `modality` enums (catalog's and
// booking's) name them in_person and video. Hand-written, beside the stubs:
// one mapping for both services.

/** A modality as both databases name it. */
export type StoredModality = 'in_person' | 'video';

const STORED: Partial<Record<number, StoredModality>> = {
  [Modality.MODALITY_IN_PERSON]: 'in_person',
  [Modality.MODALITY_VIDEO]: 'video',
};

const MESSAGE: Record<StoredModality, Modality> = {
  in_person: Modality.MODALITY_IN_PERSON,
  video: Modality.MODALITY_VIDEO,
};

/** The stored name of an enum value; undefined for UNSPECIFIED and for numbers this build does not know. */
export const storedModality = (value: number): StoredModality | undefined => STORED[value];

/** The enum value of a stored modality. */
export const modalityMessage = (stored: StoredModality): Modality => MESSAGE[stored];
