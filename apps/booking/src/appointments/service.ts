import {
  FailedPreconditionError,
  inRequestOrder,
  InvalidArgumentError,
  NotFoundError,
  quote,
  toPage,
  UnavailableError,
  violates,
  type Page,
  type TimeIdKey,
} from '@carebook/server';
import type { CallerContext, CatalogGateway } from '../catalog-gateway';
import type { ReleaseDispatcher } from '../releases/dispatcher';
import { answerOf, answerOfConfirmation, notConfirmable, slotInPast, slotUnavailable, stillSettling } from './answers';
import type { HoldSettlement } from './hold-settlement';
import { withFacts, type Appointment, type AppointmentFilter, type AppointmentsRepo, type AppointmentWithFacts, type Cancellation } from './repo';
import { factsOf, type AppointmentSettlement, type Settlement } from './settlement';
import type { SlotGate } from './slot-gate';

export interface BookingRequest {
  slotId: string;
  patientId: string;
  requestId: string;
  reason: string;
}

export interface HoldRequest extends BookingRequest {
  /** How long catalog holds the slot. */
  holdMs: number;
}

export interface RescheduleRequest {
  id: string;
  newSlotId: string;
  requestId: string;
}

export interface AppointmentsDeps {
  /**
   * How long after its record a claim may land: the claim's absolute deadline
   * is the appointment's create_time plus this (BOOKING_RECONCILE_GRACE_MS
   * less BOOKING_CLOCK_SKEW_BOUND_MS).
   */
  claimWindowMs: number;
  /** The reconciler's grace period: PENDING appointments older than this, by the database's clock, are settled by the slot's state. */
  reconcileGraceMs: number;
  repo: AppointmentsRepo;
  catalog: CatalogGateway;
  settlement: AppointmentSettlement;
  holds: HoldSettlement;
  releases: ReleaseDispatcher;
  /** This process's bookings of one slot, one at a time (slot-gate.ts). */
  gate: SlotGate;
  now?: () => Date;
}

/** What a booking, hold or reschedule records first. */
type Intent = { patientId: string; requestId: string; slotId: string; reason: string; replacesAppointmentId: string | null; holdDurationMs: number | null };

const appointmentKey = (a: AppointmentWithFacts): TimeIdKey => [a.startTime.toISOString(), a.id];

/**
 * The booking protocol. Intent first (a PENDING appointment with its slot's
 * id, durable before any claim), then the claim in catalog with the
 * appointment id as claim id and an absolute deadline, then BOOKED (or HELD)
 * with the slot's facts from the claim's answer, or FAILED. One catalog call:
 * catalog's claim also refuses an unknown slot or one that has started, and
 * then the PENDING appointment is deleted. Whatever is interrupted stays
 * PENDING, and a retry or the reconciler finishes it by the same rules.
 */
export function appointmentsService({ claimWindowMs, reconcileGraceMs, repo, catalog, settlement, holds, releases, gate, now = () => new Date() }: AppointmentsDeps) {
  async function get(id: string): Promise<Appointment> {
    const appointment = await repo.findById(id);
    if (!appointment) throw new NotFoundError('appointment', id);
    return appointment;
  }

  /** The instant after which catalog refuses this appointment's claim, by catalog's database clock. */
  const claimDeadlineOf = (appointment: Appointment) => new Date(+appointment.createTime + claimWindowMs);

  /**
   * Claims the slot of a PENDING appointment and settles it by the outcome.
   * Every claim of the appointment carries the same absolute deadline, which
   * catalog alone judges, by its database clock: no clock of this process
   * decides whether it is too late. A claim past it is 'late', and the
   * appointment is left to the reconciler. A hold's claim asks catalog to
   * hold the slot for its duration.
   */
  async function claimAndSettle(appointment: Appointment, caller: CallerContext): Promise<Settlement | 'late'> {
    const holdMs = appointment.holdDurationMs ?? undefined;
    const outcome = await catalog.claimSlot(appointment.slotId, appointment.id, claimDeadlineOf(appointment), caller, holdMs);
    if (outcome.claimed) {
      // Held now by this claim: later bookings of it here are answered at once.
      gate.markTaken({ id: outcome.slot.id, facts: factsOf(outcome.slot) });
      return settlement.claimed(appointment, outcome.slot);
    }
    switch (outcome.why) {
      case 'late':
        return 'late';
      case 'taken':
        gate.markTaken({ id: appointment.slotId });
        return settlement.notClaimed(appointment);
      case 'not_found':
        return settlement.refused(appointment, 'slot_not_found');
      case 'in_past':
        return settlement.refused(appointment, 'slot_in_past');
    }
  }

  /** A repeated request_id: answer as the first request was answered, finishing it if it was interrupted. */
  async function resume(existing: Appointment, intent: Omit<Intent, 'patientId' | 'requestId'>, caller: CallerContext) {
    const same =
      existing.slotId === intent.slotId &&
      existing.replacesAppointmentId === intent.replacesAppointmentId &&
      existing.reason === intent.reason &&
      existing.holdDurationMs === intent.holdDurationMs;
    if (!same) {
      throw new FailedPreconditionError(`request_id ${quote(existing.requestId)} was used for another request`, 'REQUEST_ID_REUSED', {
        appointment_id: existing.id,
      });
    }
    switch (existing.status) {
      case 'pending':
        return answerOf(await claimAndSettle(existing, caller), existing);
      case 'failed':
        throw slotUnavailable(existing);
      default:
        return existing;
    }
  }

  /**
   * Records the intent and claims its slot; a concurrent twin of the same
   * request resumes instead. A slot this process knows taken (the gate)
   * fails at once without a claim, and the FAILED record still answers
   * retries of this request_id; one it knows started is refused before
   * anything is written. Everything else is catalog's claim to decide.
   */
  function recordAndClaim(intent: Intent, caller: CallerContext): Promise<Appointment> {
    return gate.turn(intent.slotId, async (known) => {
      if (known?.facts && known.facts.startTime <= now()) {
        // Refused before anything was written: a retry of an earlier
        // request is still answered by that request's record.
        const earlier = await repo.findByRequest(intent.patientId, intent.requestId);
        if (earlier) return resume(earlier, intent, caller);
        throw slotInPast(intent.slotId);
      }
      let appointment: Appointment;
      try {
        appointment = await repo.create(known ? { ...intent, status: 'failed', facts: known.facts } : { ...intent, status: 'pending' });
      } catch (err) {
        if (violates(err, 'appointment_patient_id_request_id_key')) {
          const twin = await repo.findByRequest(intent.patientId, intent.requestId);
          if (twin) return resume(twin, intent, caller);
        }
        if (violates(err, 'appointment_patient_id_fkey')) throw new NotFoundError('patient', intent.patientId);
        if (violates(err, 'appointment_one_live_replacement_key')) {
          throw new FailedPreconditionError(`appointment ${intent.replacesAppointmentId} is already being rescheduled`, 'RESCHEDULE_IN_PROGRESS', {
            appointment_id: intent.replacesAppointmentId ?? '',
          });
        }
        throw err;
      }
      // Only catalog's answer renews the gate's memory; an answer from the
      // memory itself must not, or a slot freed elsewhere stays refused for
      // as long as it is asked for.
      if (appointment.status === 'failed') throw slotUnavailable(appointment);
      return answerOf(await claimAndSettle(appointment, caller).catch((err: unknown) => forgetRefusedIntent(err, appointment)), appointment);
    });
  }

  /**
   * catalog refused booking's credential for the first claim of a fresh
   * intent: no claim of it ran, so the intent goes too and nothing stays
   * written. A claim that may have reached catalog (a transport failure, a
   * timeout) leaves the intent PENDING, for a retry or the reconciler.
   */
  async function forgetRefusedIntent(err: unknown, appointment: Appointment): Promise<never> {
    if (err instanceof UnavailableError && err.reason === 'CATALOG_REFUSED_CREDENTIAL') await repo.deletePending(appointment.id);
    throw err;
  }

  /**
   * Settles a PENDING appointment now, as a retry or the reconciler would:
   * by claiming while catalog still takes its claim, by the slot's state once
   * it is overdue, and in between (the clock skew bound) not at all yet.
   */
  async function settlePending(appointment: Appointment, caller: CallerContext): Promise<Appointment> {
    if ((await claimAndSettle(appointment, caller)) === 'late') {
      const overdue = await repo.findPendingOverdue(appointment.id, reconcileGraceMs);
      if (!overdue) throw stillSettling(appointment);
      await settlement.settleOverdue(overdue);
    }
    return get(appointment.id);
  }

  /** Asserts the appointment is in one of the `wanted` states (else APPOINTMENT_NOT_BOOKED) and has not started. */
  function assertUpcoming<S extends Appointment['status']>(appointment: Appointment, wanted: readonly S[]): asserts appointment is Appointment & { status: S } {
    if (!(wanted as readonly Appointment['status'][]).includes(appointment.status)) {
      throw new FailedPreconditionError(`appointment ${appointment.id} is ${appointment.status}, not booked`, 'APPOINTMENT_NOT_BOOKED', {
        appointment_id: appointment.id,
        status: appointment.status,
      });
    }
    if (withFacts(appointment).startTime <= now()) {
      throw new FailedPreconditionError(`appointment ${appointment.id} has already started`, 'APPOINTMENT_IN_PAST', { appointment_id: appointment.id });
    }
  }

  /**
   * Cancels a booked or held future appointment and opens its slot;
   * cancelling again returns it unchanged. A PENDING one is settled first,
   * then cancelled if it turned out BOOKED or HELD.
   */
  async function cancel(id: string, cancellation: Cancellation, caller: CallerContext): Promise<Appointment> {
    let appointment = await get(id);
    if (appointment.status === 'pending') appointment = await settlePending(appointment, caller);
    if (appointment.status === 'cancelled') return appointment;
    assertUpcoming(appointment, ['booked', 'held']);
    const cancelled = await repo.cancel(appointment, cancellation);
    if (!cancelled) return cancel(id, cancellation, caller); // changed under us: answer by its new state
    await releases.deliverNow(cancelled.slotId, cancelled.id, caller);
    gate.forget(cancelled.slotId);
    return cancelled;
  }

  return {
    get,

    /** The appointments of `ids`, in that order; NOT_FOUND naming the first unknown one. */
    async getMany(ids: readonly string[]): Promise<Appointment[]> {
      return inRequestOrder('appointment', ids, await repo.findByIds(ids));
    },

    /**
     * Books a slot; idempotent per (patient, request_id). A retry is found by
     * the unique key when its record is inserted (or when the slot is
     * refused), not by a lookup first: a first attempt, the common case,
     * costs one statement less.
     */
    book: (request: BookingRequest, caller: CallerContext): Promise<Appointment> =>
      recordAndClaim({ ...request, replacesAppointmentId: null, holdDurationMs: null }, caller),

    /** Holds a slot until catalog's now() plus `holdMs`, as `book` books one: the same protocol, with the claim a hold. */
    hold: ({ holdMs, ...request }: HoldRequest, caller: CallerContext): Promise<Appointment> =>
      recordAndClaim({ ...request, replacesAppointmentId: null, holdDurationMs: holdMs }, caller),

    /**
     * Turns a HELD appointment into a BOOKED one while its hold runs;
     * confirming a BOOKED one returns it unchanged. A PENDING one is settled
     * first. HOLD_EXPIRED once the hold lapsed, APPOINTMENT_NOT_HELD for one
     * that was never held or was cancelled.
     */
    async confirm(id: string, caller: CallerContext): Promise<Appointment> {
      let appointment = await get(id);
      if (appointment.status === 'pending') appointment = await settlePending(appointment, caller);
      if (appointment.status === 'booked') return appointment;
      if (appointment.status !== 'held') throw notConfirmable(appointment);
      const outcome = await holds.confirm(appointment, caller);
      // Not confirmed: the slot went back or to another claim; a booking of it here asks catalog again.
      if (outcome.kind === 'not_booked') gate.forget(appointment.slotId);
      return answerOfConfirmation(outcome);
    },

    cancel,

    /** Moves a booked appointment to another slot; returns the new appointment. */
    async reschedule(request: RescheduleRequest, caller: CallerContext): Promise<Appointment> {
      const current = await get(request.id);
      const intent = { slotId: request.newSlotId, reason: current.reason, replacesAppointmentId: current.id, holdDurationMs: null };
      const existing = await repo.findByRequest(current.patientId, request.requestId);
      if (existing) return resume(existing, intent, caller);
      assertUpcoming(current, ['booked']);
      if (request.newSlotId === current.slotId) {
        throw new InvalidArgumentError([{ field: 'new_slot_id', description: "is the appointment's current slot" }]);
      }
      return recordAndClaim({ patientId: current.patientId, requestId: request.requestId, ...intent }, caller);
    },

    async list(filter: AppointmentFilter, pageSize: number, after: TimeIdKey | undefined): Promise<Page<Appointment>> {
      const rows = await repo.listPage(filter, pageSize + 1, after);
      return toPage(rows, pageSize, appointmentKey);
    },
  };
}

export type AppointmentsService = ReturnType<typeof appointmentsService>;
