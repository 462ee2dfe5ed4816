import { FailedPreconditionError, NotFoundError } from '@carebook/server';
import type { Appointment, AppointmentsRepo } from '../appointments/repo';
import type { Consultation, ConsultationsRepo, PatientRoom } from './repo';
import { isVideo } from './video';

// What the API shows of consultation rooms: the patient's link on the
// appointment, and everything, the doctor's link included, to clinic staff
// through GetConsultation.

/** A consultation as staff see it: its row, or only CREATING for a room not recorded yet (the feed is a moment behind the booking). */
export type ConsultationView = Pick<Consultation, 'status'> & Partial<Pick<Consultation, 'patientJoinUrl' | 'doctorJoinUrl' | 'validFrom' | 'validUntil'>>;

export interface ConsultationsDeps {
  rooms: ConsultationsRepo;
  appointments: Pick<AppointmentsRepo, 'findById'>;
}

/** Only a booked video appointment shows a room; a cancelled one's room may not be revoked yet, but is no longer the patient's. */
const mayHaveRoom = (appointment: Appointment) => appointment.status === 'booked' && isVideo(appointment);

export function consultationsService({ rooms, appointments }: ConsultationsDeps) {
  return {
    /** The consultation of a video appointment, for staff. */
    async get(appointmentId: string): Promise<ConsultationView> {
      const appointment = await appointments.findById(appointmentId);
      if (!appointment) throw new NotFoundError('appointment', appointmentId);
      const consultation = await rooms.findByAppointment(appointmentId);
      if (consultation) return consultation;
      if (!isVideo(appointment)) {
        throw new FailedPreconditionError(`appointment ${appointmentId} is not a video appointment`, 'APPOINTMENT_NOT_VIDEO', { appointment_id: appointmentId });
      }
      if (appointment.status !== 'booked') {
        throw new FailedPreconditionError(`appointment ${appointmentId} is ${appointment.status}, not booked: it has no consultation room`, 'APPOINTMENT_NOT_BOOKED', {
          appointment_id: appointmentId,
          status: appointment.status,
        });
      }
      return { status: 'creating' };
    },

    /** The patient's rooms of these appointments, by appointment id; a query only when one of them may have a room. */
    async patientRoomsOf(list: Appointment[]): Promise<Map<string, PatientRoom>> {
      const ids = list.filter(mayHaveRoom).map((a) => a.id);
      return new Map((await rooms.readyRoomsOf(ids)).map((room) => [room.appointmentId, room]));
    },
  };
}

export type ConsultationsService = ReturnType<typeof consultationsService>;
