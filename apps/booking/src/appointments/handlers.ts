import {
  AppointmentStatus,
  Canceller,
  type Appointment as AppointmentMessage,
  type BookingServiceService,
} from '@carebook/proto/booking';
import { isTimeIdKey, MAX_BATCH_GET, RequestValidator, type Handlers, type PageTokens } from '@carebook/server';
import { toConsultationMessage } from '../consultations/handlers';
import type { PatientRoom } from '../consultations/repo';
import type { ConsultationsService } from '../consultations/service';
import { toModalityMessage } from './modality';
import type { Appointment } from './repo';
import type { AppointmentsService } from './service';

type AppointmentHandlers = Pick<
  Handlers<BookingServiceService>,
  'bookAppointment' | 'getAppointment' | 'batchGetAppointments' | 'listAppointments' | 'cancelAppointment' | 'rescheduleAppointment' | 'holdAppointment' | 'confirmAppointment'
>;

const MAX_REASON_LENGTH = 500;
const MAX_REQUEST_ID_LENGTH = 128;
// Reasons are free text from a patient: line breaks and tabs are kept.
const FREE_TEXT = { multiline: true };
const MINUTE_MS = 60_000;
const DEFAULT_HOLD_MS = 10 * MINUTE_MS;
const HOLD_RANGE = { maxMs: 15 * MINUTE_MS, describe: 'more than 0 and at most 15 minutes' };

const cancellerMessage: Record<NonNullable<Appointment['cancelledBy']>, Canceller> = {
  patient: Canceller.CANCELLER_PATIENT,
  clinic: Canceller.CANCELLER_CLINIC,
  system: Canceller.CANCELLER_SYSTEM,
};

const statusMessage: Record<Appointment['status'], AppointmentStatus> = {
  pending: AppointmentStatus.APPOINTMENT_STATUS_PENDING,
  booked: AppointmentStatus.APPOINTMENT_STATUS_BOOKED,
  cancelled: AppointmentStatus.APPOINTMENT_STATUS_CANCELLED,
  failed: AppointmentStatus.APPOINTMENT_STATUS_FAILED,
  held: AppointmentStatus.APPOINTMENT_STATUS_HELD,
  expired: AppointmentStatus.APPOINTMENT_STATUS_EXPIRED,
};

/**
 * Appointment as the API shows it, with the patient's consultation room if it
 * has one. One without its slot's facts (PENDING, or FAILED without a grant)
 * shows them unset.
 */
export function toAppointmentMessage(a: Appointment, room?: PatientRoom): AppointmentMessage {
  return {
    id: a.id,
    slotId: a.slotId,
    patientId: a.patientId,
    doctorId: a.doctorId ?? '',
    clinicId: a.clinicId ?? '',
    startTime: a.startTime ?? undefined,
    endTime: a.endTime ?? undefined,
    modality: toModalityMessage(a.modality),
    status: statusMessage[a.status],
    reason: a.reason,
    createTime: a.createTime,
    updateTime: a.updateTime,
    cancelReason: a.cancelReason ?? '',
    replacesAppointmentId: a.replacesAppointmentId ?? '',
    cancelledBy: a.cancelledBy ? cancellerMessage[a.cancelledBy] : Canceller.CANCELLER_UNSPECIFIED,
    holdExpireTime: a.holdExpireTime ?? undefined,
    consultation: room && toConsultationMessage(room),
  };
}

/** Who a CancelAppointment says cancels: the patient unless the clinic; carebook's own SYSTEM is not the caller's to claim. */
function cancellerOf(v: RequestValidator, value: Canceller | undefined): 'patient' | 'clinic' {
  if (value === Canceller.CANCELLER_CLINIC) return 'clinic';
  if (value !== undefined && value !== Canceller.CANCELLER_UNSPECIFIED && value !== Canceller.CANCELLER_PATIENT) {
    v.fail('cancelled_by', value === Canceller.CANCELLER_SYSTEM ? 'SYSTEM is kept for cancellations by carebook itself; use PATIENT or CLINIC' : 'must be PATIENT or CLINIC');
  }
  return 'patient';
}

/** gRPC handlers for appointments. */
export function appointmentHandlers(appointments: AppointmentsService, consultations: ConsultationsService, tokens: PageTokens): AppointmentHandlers {
  const show = async (list: Appointment[]): Promise<AppointmentMessage[]> => {
    const rooms = await consultations.patientRoomsOf(list);
    return list.map((a) => toAppointmentMessage(a, rooms.get(a.id)));
  };
  const showOne = async (a: Appointment) => (await show([a]))[0];

  return {
    async bookAppointment(request, ctx) {
      const v = new RequestValidator();
      const slotId = v.uuid('slot_id', request.slotId);
      const patientId = v.uuid('patient_id', request.patientId);
      const requestId = v.requiredText('request_id', request.requestId, MAX_REQUEST_ID_LENGTH);
      const reason = v.optionalText('reason', request.reason, MAX_REASON_LENGTH, FREE_TEXT);
      v.done();
      const appointment = await appointments.book({ slotId, patientId, requestId, reason }, ctx);
      return { appointment: await showOne(appointment) };
    },

    async getAppointment({ id }) {
      const v = new RequestValidator();
      const appointmentId = v.uuid('id', id);
      v.done();
      return { appointment: await showOne(await appointments.get(appointmentId)) };
    },

    async batchGetAppointments({ ids }) {
      const v = new RequestValidator();
      const appointmentIds = v.uuidList('ids', ids, MAX_BATCH_GET);
      v.done();
      return { appointments: await show(await appointments.getMany(appointmentIds)) };
    },

    async listAppointments(request) {
      const v = new RequestValidator();
      const filter = {
        patientId: v.optionalUuid('patient_id', request.patientId),
        doctorId: v.optionalUuid('doctor_id', request.doctorId),
        from: v.optionalTimestamp('start_time_from', request.startTimeFrom),
        to: v.optionalTimestamp('start_time_to', request.startTimeTo),
      };
      if (!request.patientId && !request.doctorId) v.fail('patient_id', 'patient_id or doctor_id is required');
      if (filter.from && filter.to && filter.to <= filter.from) v.fail('start_time_to', 'must be after start_time_from');
      const pageSize = v.pageSize('page_size', request.pageSize);
      v.done();
      const page = await appointments.list(filter, pageSize, tokens.decode(request.pageToken, filter, isTimeIdKey));
      return { appointments: await show(page.items), nextPageToken: tokens.encode(page.next, filter) };
    },

    async cancelAppointment(request, ctx) {
      const v = new RequestValidator();
      const id = v.uuid('id', request.id);
      const reason = v.optionalText('reason', request.reason, MAX_REASON_LENGTH, FREE_TEXT);
      const by = cancellerOf(v, request.cancelledBy);
      v.done();
      return { appointment: await showOne(await appointments.cancel(id, { reason, by }, ctx)) };
    },

    async holdAppointment(request, ctx) {
      const v = new RequestValidator();
      const slotId = v.uuid('slot_id', request.slotId);
      const patientId = v.uuid('patient_id', request.patientId);
      const requestId = v.requiredText('request_id', request.requestId, MAX_REQUEST_ID_LENGTH);
      const reason = v.optionalText('reason', request.reason, MAX_REASON_LENGTH, FREE_TEXT);
      const holdMs = v.optionalDurationMs('hold_duration', request.holdDuration, HOLD_RANGE) ?? DEFAULT_HOLD_MS;
      v.done();
      const appointment = await appointments.hold({ slotId, patientId, requestId, reason, holdMs }, ctx);
      return { appointment: await showOne(appointment) };
    },

    async confirmAppointment(request, ctx) {
      const v = new RequestValidator();
      const id = v.uuid('id', request.id);
      v.done();
      return { appointment: await showOne(await appointments.confirm(id, ctx)) };
    },

    async rescheduleAppointment(request, ctx) {
      const v = new RequestValidator();
      const id = v.uuid('id', request.id);
      const newSlotId = v.uuid('new_slot_id', request.newSlotId);
      const requestId = v.requiredText('request_id', request.requestId, MAX_REQUEST_ID_LENGTH);
      v.done();
      const appointment = await appointments.reschedule({ id, newSlotId, requestId }, ctx);
      return { appointment: await showOne(appointment) };
    },
  };
}
