import type { Appointment } from '../appointments/repo';

// The one place booking decides whether an appointment happens by video:
// everything about consultation rooms asks this predicate.

/**
 * PLACEHOLDER, until booking records an appointment's modality (the holds
 * change copies the slot's modality onto appointment.modality): the modality
 * every appointment is taken to have. No appointment is a video appointment
 * until then, so none gets a room; tests choose theirs through
 * BookingDeps.isVideo.
 */
const APPOINTMENT_MODALITY_PLACEHOLDER = 'in_person' as 'in_person' | 'video';

/** Whether the appointment is a video consultation. */
export const isVideo = (_appointment: Appointment): boolean => APPOINTMENT_MODALITY_PLACEHOLDER === 'video';
