import { ConsultationStatus, type BookingServiceService, type Consultation as ConsultationMessage, type GetConsultationResponse } from '@carebook/proto/booking';
import { RequestValidator, type Handlers } from '@carebook/server';
import type { PatientRoom } from './repo';
import type { ConsultationsService, ConsultationView } from './service';

type ConsultationHandlers = Pick<Handlers<BookingServiceService>, 'getConsultation'>;

const statusMessage: Record<ConsultationView['status'], ConsultationStatus> = {
  creating: ConsultationStatus.CONSULTATION_STATUS_CREATING,
  ready: ConsultationStatus.CONSULTATION_STATUS_READY,
  revoking: ConsultationStatus.CONSULTATION_STATUS_REVOKING,
  revoked: ConsultationStatus.CONSULTATION_STATUS_REVOKED,
  failed: ConsultationStatus.CONSULTATION_STATUS_FAILED,
};

/** The patient's view of a room, as Appointment.consultation shows it. */
export function toConsultationMessage(room: PatientRoom): ConsultationMessage {
  return { joinUrl: room.patientJoinUrl, validFrom: room.validFrom, validUntil: room.validUntil };
}

/** Staff's view of a consultation: the links only while READY, so a revoked room's are never shown again. */
function toGetConsultationResponse(view: ConsultationView): GetConsultationResponse {
  const ready = view.status === 'ready';
  return {
    doctorJoinUrl: (ready && view.doctorJoinUrl) || '',
    patientJoinUrl: (ready && view.patientJoinUrl) || '',
    validFrom: view.validFrom,
    validUntil: view.validUntil,
    status: statusMessage[view.status],
  };
}

/** gRPC handlers for consultation rooms. */
export function consultationHandlers(consultations: ConsultationsService): ConsultationHandlers {
  return {
    async getConsultation(request) {
      const v = new RequestValidator();
      const appointmentId = v.uuid('appointment_id', request.appointmentId);
      v.done();
      return toGetConsultationResponse(await consultations.get(appointmentId));
    },
  };
}
