import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  toPage,
  violates,
  type Page,
  type TimeIdKey,
} from '@carebook/server';
import type { CatalogGateway } from '../catalog-gateway';
import type { ReleaseDispatcher } from '../releases/dispatcher';
import type { Appointment, AppointmentFilter, AppointmentsRepo } from './repo';
import { slotUnavailable, type AppointmentSettlement } from './settlement';

export interface BookingRequest {
  slotId: string;
  patientId: string;
  requestId: string;
  reason: string;
}

export interface RescheduleRequest {
  id: string;
  newSlotId: string;
  requestId: string;
}

export interface AppointmentsDeps {
  repo: AppointmentsRepo;
  catalog: CatalogGateway;
  settlement: AppointmentSettlement;
  releases: ReleaseDispatcher;
  now?: () => Date;
}

const appointmentKey = (a: Appointment): TimeIdKey => [a.startTime.toISOString(), a.id];

/**
 * The booking protocol. Intent first (a PENDING appointment, durable before
 * any claim), then the claim in catalog with the appointment id as claim id,
 * then BOOKED or FAILED. Whatever is interrupted stays PENDING, and a retry
 * or the reconciler finishes it by the same rules.
 */
export function appointmentsService({ repo, catalog, settlement, releases, now = () => new Date() }: AppointmentsDeps) {
  async function get(id: string): Promise<Appointment> {
    const appointment = await repo.findById(id);
    if (!appointment) throw new NotFoundError('appointment', id);
    return appointment;
  }

  /** Claims the slot of a PENDING appointment and settles it by the outcome. */
  async function claimAndSettle(appointment: Appointment, deadline: Date | undefined): Promise<Appointment> {
    const outcome = await catalog.claimSlot(appointment.slotId, appointment.id, deadline);
    if (outcome.claimed) return settlement.claimed(appointment);
    await settlement.notClaimed(appointment);
    throw slotUnavailable(appointment);
  }

  /** A repeated request_id: answer as the first request was answered, finishing it if it was interrupted. */
  async function resume(existing: Appointment, slotId: string, replacesId: string | null, deadline: Date | undefined): Promise<Appointment> {
    if (existing.slotId !== slotId || existing.replacesAppointmentId !== replacesId) {
      throw new FailedPreconditionError(`request_id ${existing.requestId} was used for another request`, 'REQUEST_ID_REUSED', {
        appointment_id: existing.id,
      });
    }
    switch (existing.status) {
      case 'pending':
        return claimAndSettle(existing, deadline);
      case 'failed':
        throw slotUnavailable(existing);
      default:
        return existing;
    }
  }

  /** Records the intent for a slot known to catalog; a concurrent twin of the same request resumes instead. */
  async function recordAndClaim(
    intent: { patientId: string; requestId: string; slotId: string; reason: string; replacesAppointmentId: string | null },
    deadline: Date | undefined,
  ): Promise<Appointment> {
    const slot = await catalog.getSlot(intent.slotId, deadline);
    if (slot.startTime <= now()) {
      throw new FailedPreconditionError(`slot ${slot.id} has already started`, 'SLOT_IN_PAST', { slot_id: slot.id });
    }
    let appointment: Appointment;
    try {
      appointment = await repo.create({
        ...intent,
        doctorId: slot.doctorId,
        clinicId: slot.clinicId,
        startTime: slot.startTime,
        endTime: slot.endTime,
        // A slot already taken fails at once, without a claim; the FAILED
        // record still answers retries of this request_id.
        status: slot.open ? 'pending' : 'failed',
      });
    } catch (err) {
      if (violates(err, 'appointment_patient_id_request_id_key')) {
        const twin = await repo.findByRequest(intent.patientId, intent.requestId);
        if (twin) return resume(twin, intent.slotId, intent.replacesAppointmentId, deadline);
      }
      if (violates(err, 'appointment_patient_id_fkey')) throw new NotFoundError('patient', intent.patientId);
      if (violates(err, 'appointment_one_live_replacement_key')) {
        throw new FailedPreconditionError(`appointment ${intent.replacesAppointmentId} is already being rescheduled`, 'RESCHEDULE_IN_PROGRESS', {
          appointment_id: intent.replacesAppointmentId ?? '',
        });
      }
      throw err;
    }
    if (appointment.status === 'failed') throw slotUnavailable(appointment);
    return claimAndSettle(appointment, deadline);
  }

  function assertUpcomingBooking(appointment: Appointment): void {
    if (appointment.status !== 'booked') {
      throw new FailedPreconditionError(`appointment ${appointment.id} is ${appointment.status}, not booked`, 'APPOINTMENT_NOT_BOOKED', {
        appointment_id: appointment.id,
        status: appointment.status,
      });
    }
    if (appointment.startTime <= now()) {
      throw new FailedPreconditionError(`appointment ${appointment.id} has already started`, 'APPOINTMENT_IN_PAST', { appointment_id: appointment.id });
    }
  }

  /** Cancels a booked future appointment and opens its slot; cancelling again returns it unchanged. */
  async function cancel(id: string, reason: string, deadline: Date | undefined): Promise<Appointment> {
    const appointment = await get(id);
    if (appointment.status === 'cancelled') return appointment;
    assertUpcomingBooking(appointment);
    const cancelled = await repo.cancel(appointment, reason);
    if (!cancelled) return cancel(id, reason, deadline); // changed under us: answer by its new state
    await releases.deliverNow(cancelled.slotId, cancelled.id, deadline);
    return cancelled;
  }

  return {
    get,

    /** Books a slot; idempotent per (patient, request_id). */
    async book(request: BookingRequest, deadline: Date | undefined): Promise<Appointment> {
      const existing = await repo.findByRequest(request.patientId, request.requestId);
      if (existing) return resume(existing, request.slotId, null, deadline);
      return recordAndClaim({ ...request, replacesAppointmentId: null }, deadline);
    },

    cancel,

    /** Moves a booked appointment to another slot; returns the new appointment. */
    async reschedule(request: RescheduleRequest, deadline: Date | undefined): Promise<Appointment> {
      const current = await get(request.id);
      const existing = await repo.findByRequest(current.patientId, request.requestId);
      if (existing) return resume(existing, request.newSlotId, current.id, deadline);
      assertUpcomingBooking(current);
      if (request.newSlotId === current.slotId) {
        throw new InvalidArgumentError([{ field: 'new_slot_id', description: 'is the appointment\'s current slot' }]);
      }
      return recordAndClaim(
        { patientId: current.patientId, requestId: request.requestId, slotId: request.newSlotId, reason: current.reason, replacesAppointmentId: current.id },
        deadline,
      );
    },

    async list(filter: AppointmentFilter, pageSize: number, after: TimeIdKey | undefined): Promise<Page<Appointment>> {
      const rows = await repo.listPage(filter, pageSize + 1, after && { startTime: new Date(after[0]), id: after[1] });
      return toPage(rows, pageSize, appointmentKey, filter);
    },
  };
}

export type AppointmentsService = ReturnType<typeof appointmentsService>;
