import { afterTimeIdKey, queryPrepared, type SqlPool, type TimeIdKey } from '@carebook/server';
import { Prisma } from '../generated/prisma/client';
import type { Appointment } from '../generated/prisma/client';
import type { BookingPrisma } from '../db';
import { enqueueRelease } from '../releases/repo';
import { APPOINTMENT_COLUMNS, DELETE_PENDING, INSERT_FAILED, INSERT_PENDING, SETTLE_BOOKED, SETTLE_CONFIRMED, SETTLE_FAILED, SETTLE_HELD } from './statements';

export type { Appointment };

/** What an appointment copies from its slot when its claim is granted. */
export interface SlotFacts {
  doctorId: string;
  clinicId: string;
  startTime: Date;
  endTime: Date;
  modality: NonNullable<Appointment['modality']>;
}

/**
 * An appointment with its slot's facts: every one but a PENDING one and a
 * FAILED one whose claim was refused (appointment_slot_facts_check).
 */
export type AppointmentWithFacts = Appointment & SlotFacts;

/** Whether the appointment has its slot's facts (see AppointmentWithFacts). */
export const hasFacts = (a: Appointment): a is AppointmentWithFacts =>
  a.doctorId !== null && a.clinicId !== null && a.startTime !== null && a.endTime !== null && a.modality !== null;

/** The facts of an appointment that must have them (BOOKED, HELD, CANCELLED, EXPIRED); throws, as a bug, if it has none. */
export function withFacts(a: Appointment): AppointmentWithFacts {
  if (!hasFacts(a)) throw new Error(`appointment ${a.id} (${a.status}) has no slot facts`);
  return a;
}

const factValues = (f: Partial<SlotFacts> | undefined) => [f?.doctorId ?? null, f?.clinicId ?? null, f?.startTime ?? null, f?.endTime ?? null, f?.modality ?? null];

/**
 * An appointment as booking first records it: the intent (PENDING, with its
 * slot's id only), or at once FAILED for a slot this process knows taken,
 * with the slot's facts if it knows them.
 */
export type NewAppointment = Pick<Appointment, 'patientId' | 'requestId' | 'slotId' | 'reason' | 'replacesAppointmentId' | 'holdDurationMs'> &
  ({ status: 'pending' } | { status: 'failed'; facts: SlotFacts | undefined });

export interface AppointmentFilter {
  patientId?: string;
  doctorId?: string;
  from?: Date;
  to?: Date;
}

/** Why and by whom an appointment is cancelled. */
export interface Cancellation {
  reason: string;
  by: NonNullable<Appointment['cancelledBy']>;
}

/** How finishing a reschedule went. */
export type RescheduleResult =
  | { done: true; appointment: Appointment; replaced: Appointment }
  | { done: false; why: 'replacement_not_pending' | 'replaced_not_booked' };

/** Thrown inside a transaction only to roll it back. */
class RollBack extends Error {}

const COLUMNS = Prisma.raw(APPOINTMENT_COLUMNS);

/** Queries over the appointment table. Status changes are conditional UPDATEs; a booking's own statements are prepared (statements.ts). */
export function appointmentsRepo(prisma: BookingPrisma, sql: SqlPool, options: { releaseLeaseMs: number }) {
  const oweRelease = (tx: Prisma.TransactionClient | BookingPrisma, slotId: string, claimId: string) =>
    enqueueRelease(tx, slotId, claimId, options.releaseLeaseMs);

  /** Moves the appointment from one status to another; undefined if it was not in `from`. */
  async function transition(
    db: Prisma.TransactionClient | BookingPrisma,
    id: string,
    from: Appointment['status'],
    to: Appointment['status'],
    cancellation: { reason: string; by: Cancellation['by'] | null } | null = null,
  ): Promise<Appointment | undefined> {
    const rows = await db.$queryRaw<Appointment[]>`
      UPDATE appointment
      SET status = ${to}::appointment_status, cancel_reason = ${cancellation?.reason ?? null},
          cancelled_by = ${cancellation?.by ?? null}::canceller, update_time = now()
      WHERE id = ${id}::uuid AND status = ${from}::appointment_status
      RETURNING ${COLUMNS}`;
    return rows[0];
  }


  return {
    /**
     * Inserts the appointment. A PENDING one is committed durably: it is the
     * intent that the claim and the reconciler rely on. A FAILED one (its
     * slot was already taken) only answers retries of its request, so its
     * commit does not wait for the WAL flush: losing it makes a retry ask
     * catalog again, which is as right.
     */
    async create(a: NewAppointment): Promise<Appointment> {
      const values = [a.patientId, a.requestId, a.slotId, a.reason, a.replacesAppointmentId, a.holdDurationMs];
      const rows =
        a.status === 'failed'
          ? await queryPrepared<Appointment>(sql, INSERT_FAILED, [...values, ...factValues(a.facts)])
          : await queryPrepared<Appointment>(sql, INSERT_PENDING, values);
      return rows[0];
    },

    /** Removes a PENDING appointment (its claim was refused as a bad request); false if it was no longer pending. */
    async deletePending(id: string): Promise<boolean> {
      return (await queryPrepared<{ id: string }>(sql, DELETE_PENDING, [id])).length > 0;
    },

    findById: (id: string) => prisma.appointment.findUnique({ where: { id } }),
    findByIds: (ids: readonly string[]) => prisma.appointment.findMany({ where: { id: { in: [...ids] } } }),

    /** Owes catalog the release of `slotId` held by `claimId`, on its own (the outbox; see enqueueRelease). */
    oweRelease: (slotId: string, claimId: string) => oweRelease(prisma, slotId, claimId),

    findByRequest: (patientId: string, requestId: string) =>
      prisma.appointment.findUnique({ where: { patientId_requestId: { patientId, requestId } } }),

    /** PENDING → BOOKED, with the facts of the slot catalog granted it. */
    async markBooked(id: string, facts: SlotFacts): Promise<Appointment | undefined> {
      return (await queryPrepared<Appointment>(sql, SETTLE_BOOKED, [id, ...factValues(facts)]))[0];
    },

    /** PENDING → FAILED. */
    async markFailed(id: string): Promise<Appointment | undefined> {
      return (await queryPrepared<Appointment>(sql, SETTLE_FAILED, [id]))[0];
    },

    /** PENDING → HELD until catalog's `holdExpireTime`, with the facts of the slot catalog granted it. */
    async markHeld(id: string, facts: SlotFacts, holdExpireTime: Date): Promise<Appointment | undefined> {
      return (await queryPrepared<Appointment>(sql, SETTLE_HELD, [id, ...factValues(facts), holdExpireTime]))[0];
    },

    /** HELD → BOOKED: catalog turned the hold into a booking. */
    async markConfirmed(id: string): Promise<Appointment | undefined> {
      return (await queryPrepared<Appointment>(sql, SETTLE_CONFIRMED, [id]))[0];
    },

    /** HELD → EXPIRED, owing catalog the release of the slot the hold may still name: an EXPIRED appointment owns no slot. */
    expireHold: (appointment: Appointment) =>
      prisma.$transaction(async (tx) => {
        const expired = await transition(tx, appointment.id, 'held', 'expired');
        if (expired) await oweRelease(tx, appointment.slotId, appointment.id);
        return expired;
      }),

    /** PENDING → FAILED, owing catalog the release of the slot this appointment may hold. */
    failAndRelease: (appointment: Appointment) =>
      prisma.$transaction(async (tx) => {
        const failed = await transition(tx, appointment.id, 'pending', 'failed');
        await oweRelease(tx, appointment.slotId, appointment.id);
        return failed;
      }),

    /**
     * BOOKED or HELD (as `appointment` was read) → CANCELLED, owing catalog
     * the release of its slot, in one transaction (which also records the
     * event of a cancelled booking, by trigger; a cancelled hold was never
     * booked and is told to no one).
     */
    cancel: (appointment: Appointment & { status: 'booked' | 'held' }, cancellation: Cancellation) =>
      prisma.$transaction(async (tx) => {
        const cancelled = await transition(tx, appointment.id, appointment.status, 'cancelled', cancellation);
        if (cancelled) await oweRelease(tx, appointment.slotId, appointment.id);
        return cancelled;
      }),

    /**
     * Finishes a reschedule in one transaction: the replacement becomes
     * BOOKED with its slot's `facts`, the appointment it replaces CANCELLED, and the old slot's
     * release is owed. Unless both were in the expected state, nothing
     * changes and the result says which one was not.
     */
    async completeReschedule(replacement: Appointment, facts: SlotFacts, replacedId: string): Promise<RescheduleResult> {
      try {
        return await prisma.$transaction(async (tx) => {
          const [booked] = await tx.$queryRaw<Appointment[]>`
            UPDATE appointment SET status = 'booked', doctor_id = ${facts.doctorId}::uuid, clinic_id = ${facts.clinicId}::uuid,
                   start_time = ${facts.startTime}, end_time = ${facts.endTime}, modality = ${facts.modality}::modality, update_time = now()
            WHERE id = ${replacement.id}::uuid AND status = 'pending'
            RETURNING ${COLUMNS}`;
          if (!booked) return { done: false, why: 'replacement_not_pending' } as const;
          // Cancelled by the reschedule, not by anyone: the event tells it as RESCHEDULED.
          const replaced = await transition(tx, replacedId, 'booked', 'cancelled', { reason: 'rescheduled', by: null });
          if (!replaced) throw new RollBack();
          await oweRelease(tx, replaced.slotId, replaced.id);
          return { done: true, appointment: booked, replaced } as const;
        });
      } catch (err) {
        if (err instanceof RollBack) return { done: false, why: 'replaced_not_booked' };
        throw err;
      }
    },

    /** PENDING appointments older than `ageMs` by the database's clock (the one that stamped create_time), oldest first. */
    // Raw SQL with a literal status: Prisma sends the enum as a cast
    // parameter, which the planner cannot match to the partial index
    // appointment_pending_create_time_idx, and the reconciler then scanned
    // every appointment on each pass (seen in the benchmark).
    listPendingOverdue: (ageMs: number, limit: number) =>
      prisma.$queryRaw<Appointment[]>`
        SELECT ${COLUMNS} FROM appointment
        WHERE status = 'pending' AND create_time < now() - make_interval(secs => ${ageMs}::float8 / 1000)
        ORDER BY create_time LIMIT ${limit}`,

    /** How many appointments are PENDING, and the age of the oldest in seconds by the database's clock (0 when none). */
    async pendingStats(): Promise<{ count: number; oldestAgeSeconds: number }> {
      const [row] = await prisma.$queryRaw<{ count: number; oldestAgeSeconds: number }[]>`
        SELECT count(*)::int AS count, coalesce(extract(epoch FROM now() - min(create_time)), 0)::float8 AS "oldestAgeSeconds"
        FROM appointment WHERE status = 'pending'`;
      return row;
    },

    /** The appointment if it is PENDING and older than `ageMs` by the database's clock. */
    async findPendingOverdue(id: string, ageMs: number): Promise<Appointment | undefined> {
      const rows = await prisma.$queryRaw<Appointment[]>`
        SELECT ${COLUMNS} FROM appointment
        WHERE id = ${id}::uuid AND status = 'pending' AND create_time < now() - make_interval(secs => ${ageMs}::float8 / 1000)`;
      return rows[0];
    },

    /**
     * HELD appointments whose hold lapsed more than `skewMs` ago by the
     * booking database's clock (so lapsed by catalog's too), soonest lapsed
     * first. A literal status, for the partial index (see listPendingOverdue).
     */
    listLapsedHolds: (skewMs: number, limit: number) =>
      prisma.$queryRaw<Appointment[]>`
        SELECT ${COLUMNS} FROM appointment
        WHERE status = 'held' AND hold_expire_time < now() - make_interval(secs => ${skewMs}::float8 / 1000)
        ORDER BY hold_expire_time LIMIT ${limit}`,

    /** The HELD or BOOKED appointment of the slot, if any (appointment_one_holder_per_slot_key allows one). */
    findHolderOfSlot: (slotId: string) => prisma.appointment.findFirst({ where: { slotId, status: { in: ['held', 'booked'] } } }),

    /**
     * One page in (start_time, id) order, after the keyset position if given.
     * Appointments without their slot's facts (PENDING, or FAILED without a
     * grant) have no place in that order and are left out; the others have
     * all five (appointment_slot_facts_check).
     */
    listPage: async (filter: AppointmentFilter, limit: number, after?: TimeIdKey): Promise<AppointmentWithFacts[]> =>
      (await prisma.appointment.findMany({
        where: {
          patientId: filter.patientId,
          doctorId: filter.doctorId,
          startTime: { not: null, gte: filter.from, lt: filter.to },
          ...afterTimeIdKey('startTime', after),
        },
        orderBy: [{ startTime: 'asc' }, { id: 'asc' }],
        take: limit,
      })).map(withFacts),
  };
}

export type AppointmentsRepo = ReturnType<typeof appointmentsRepo>;
