import type { BookingServiceService } from '@carebook/proto/booking';
import type { AccessTable } from '@carebook/server';

/**
 * Who may call each of booking's RPCs: the one place this is decided
 * (docs/operations.md, section 5). The RPCs of patients and appointments are
 * open to any caller the transport admits (under mutual TLS, any certificate
 * the CA signed): the callers are the front ends that act for patients. The
 * event feed is internal; GetConsultation, which shows the doctor's link to a
 * video consultation, is for clinic staff's tools (BOOKING_ADMIN_CALLERS
 * under mutual TLS). A test walks every RPC of the service against it.
 */
export const BOOKING_ACCESS: AccessTable<typeof BookingServiceService> = {
  createPatient: 'authenticated',
  getPatient: 'authenticated',
  batchGetPatients: 'authenticated',
  updatePatient: 'authenticated',
  bookAppointment: 'authenticated',
  getAppointment: 'authenticated',
  batchGetAppointments: 'authenticated',
  listAppointments: 'authenticated',
  cancelAppointment: 'authenticated',
  rescheduleAppointment: 'authenticated',
  // Like cancelling, confirming takes the appointment's id alone: whoever
  // holds the id may confirm (the front end that made the hold).
  holdAppointment: 'authenticated',
  confirmAppointment: 'authenticated',
  listAppointmentEvents: 'internal',
  watchAppointmentEvents: 'internal',
  getConsultation: 'admin',
};
