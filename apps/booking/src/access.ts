import type { BookingServiceService } from '@carebook/proto/booking';
import type { AccessTable } from '@carebook/server';

/**
 * Who may call each of booking's RPCs: the one place this is decided
 * (docs/operations.md, section 5). Every RPC is open to any caller the
 * transport admits (under mutual TLS, any certificate the CA signed): the
 * callers are the front ends that act for patients. A test walks every RPC of
 * the service against it.
 */
export const BOOKING_ACCESS: AccessTable<typeof BookingServiceService> = {
  createPatient: 'authenticated',
  getPatient: 'authenticated',
  updatePatient: 'authenticated',
  bookAppointment: 'authenticated',
  getAppointment: 'authenticated',
  listAppointments: 'authenticated',
  cancelAppointment: 'authenticated',
  rescheduleAppointment: 'authenticated',
  // Like cancelling, confirming takes the appointment's id alone: whoever
  // holds the id may confirm (the front end that made the hold).
  holdAppointment: 'authenticated',
  confirmAppointment: 'authenticated',
  listAppointmentEvents: 'internal',
  watchAppointmentEvents: 'internal',
};
