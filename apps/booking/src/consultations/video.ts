import type { Appointment } from '../appointments/repo';

/**
 * Whether the appointment is a video consultation: its slot's modality,
 * copied onto it when it was booked. The one place booking decides it;
 * everything about consultation rooms asks this predicate.
 */
export const isVideo = (appointment: Pick<Appointment, 'modality'>): boolean => appointment.modality === 'video';
