import { selectList, type ColumnsOf } from '@carebook/server';
import { Prisma, type Consultation } from '../generated/prisma/client';
import type { BookingPrisma } from '../db';
import type { Room } from './video-room-provider';

export type { Consultation };

/** A consultation leased for one call to the provider: only what the call needs. */
export type LeasedConsultation = Pick<Consultation, 'id' | 'appointmentId' | 'status' | 'providerRoomId' | 'validFrom' | 'validUntil' | 'attempts'>;

/** The columns of a LeasedConsultation, exactly its fields; test/row-columns.test.ts checks them against schema.prisma. */
export const LEASED_CONSULTATION_FIELDS: ColumnsOf<LeasedConsultation> = {
  id: 'id',
  appointmentId: 'appointment_id',
  status: 'status',
  providerRoomId: 'provider_room_id',
  validFrom: 'valid_from',
  validUntil: 'valid_until',
  attempts: 'attempts',
};

const LEASED_COLUMNS = Prisma.raw(selectList(LEASED_CONSULTATION_FIELDS));

/** The patient's view of a room that exists. */
export type PatientRoom = Pick<Consultation, 'appointmentId' | 'validFrom' | 'validUntil'> & { patientJoinUrl: string };

/** A booked video appointment's times, from which its room's validity follows. */
export interface WantedRoom {
  appointmentId: string;
  startTime: Date;
  endTime: Date;
}

/** How long before the start a room opens, and after the end it stays open. */
export interface RoomValidity {
  opensBeforeMs: number;
  graceMs: number;
}

const MAX_ERROR_LENGTH = 1000;

// Every time here is the database's (now()), the clock the due times and
// leases are compared with, as in slot_release.

/**
 * Records a room wanted for each appointment, once: an appointment that has
 * one already (a replayed event) keeps it. Part of the caller's transaction;
 * returns how many were recorded.
 */
export function recordWantedRooms(tx: Prisma.TransactionClient, rooms: WantedRoom[], validity: RoomValidity): Promise<number> {
  if (rooms.length === 0) return Promise.resolve(0);
  return tx.$executeRaw`
    INSERT INTO consultation (appointment_id, valid_from, valid_until)
    SELECT w.id, w.start_time - make_interval(secs => ${validity.opensBeforeMs}::float8 / 1000),
           w.end_time + make_interval(secs => ${validity.graceMs}::float8 / 1000)
    FROM unnest(${rooms.map((r) => r.appointmentId)}::uuid[], ${rooms.map((r) => r.startTime.toISOString())}::timestamptz[],
                ${rooms.map((r) => r.endTime.toISOString())}::timestamptz[])
      AS w (id, start_time, end_time)
    ON CONFLICT (appointment_id) DO NOTHING`;
}

/**
 * Marks the rooms of these appointments for revocation: a READY room becomes
 * REVOKING, due now; one still CREATING is REVOKED at once, as nothing was
 * made yet (a create in flight that lands afterwards is owed a revocation by
 * recordRoom). Part of the caller's transaction; returns how many changed.
 */
export function markRoomsUnwanted(tx: Prisma.TransactionClient, appointmentIds: string[]): Promise<number> {
  if (appointmentIds.length === 0) return Promise.resolve(0);
  return tx.$executeRaw`
    UPDATE consultation
    SET status = CASE status WHEN 'ready' THEN 'revoking'::consultation_status ELSE 'revoked'::consultation_status END,
        attempts = CASE status WHEN 'ready' THEN 0 ELSE attempts END,
        next_attempt_at = CASE status WHEN 'ready' THEN now() ELSE next_attempt_at END,
        update_time = now()
    WHERE appointment_id = ANY(${appointmentIds}::uuid[]) AND status IN ('creating', 'ready')`;
}

/** The consultation rooms: what the dispatcher owes the video provider, and what the API shows. */
export function consultationsRepo(prisma: BookingPrisma) {
  return {
    /**
     * Leases up to `limit` rooms due to be made or revoked, for `leaseMs`:
     * other dispatchers skip them until the lease ends, so a crashed
     * dispatcher's work is taken up again. No transaction is held across the
     * provider's call.
     */
    leaseDue: (limit: number, leaseMs: number) =>
      prisma.$queryRaw<LeasedConsultation[]>`
        UPDATE consultation SET next_attempt_at = now() + make_interval(secs => ${leaseMs}::float8 / 1000), attempts = attempts + 1
        WHERE id IN (SELECT id FROM consultation WHERE status IN ('creating', 'revoking') AND next_attempt_at <= now()
                     ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        RETURNING ${LEASED_COLUMNS}`,

    /**
     * Records the room the provider made: READY, or REVOKING (due now) if the
     * appointment was cancelled while the room was being made. Undefined if
     * another try recorded a room first.
     */
    async recordRoom(id: string, room: Room): Promise<'ready' | 'revoking' | undefined> {
      const rows = await prisma.$queryRaw<{ status: 'ready' | 'revoking' }[]>`
        UPDATE consultation
        SET status = CASE status WHEN 'creating' THEN 'ready'::consultation_status ELSE 'revoking'::consultation_status END,
            provider_room_id = ${room.providerRoomId}, patient_join_url = ${room.patientJoinUrl}, doctor_join_url = ${room.doctorJoinUrl},
            attempts = CASE status WHEN 'creating' THEN attempts ELSE 0 END, next_attempt_at = now(), last_error = NULL, update_time = now()
        WHERE id = ${id}::uuid AND status IN ('creating', 'revoked') AND provider_room_id IS NULL
        RETURNING status`;
      return rows[0]?.status;
    },

    /** Records that the provider revoked the room (or no longer knew it, `error` then says so); the links are forgotten. */
    markRevoked: async (id: string, error: string | null = null): Promise<void> => {
      await prisma.$executeRaw`
        UPDATE consultation SET status = 'revoked', patient_join_url = NULL, doctor_join_url = NULL,
               last_error = ${error?.slice(0, MAX_ERROR_LENGTH) ?? null}, update_time = now()
        WHERE id = ${id}::uuid AND status = 'revoking'`;
    },

    /**
     * Gives up the rooms still to be made whose links would no longer work
     * (the provider failed until the appointment was over): FAILED, so that
     * they stop counting as owed. Returns how many.
     */
    abandonExpired: () =>
      prisma.$executeRaw`
        UPDATE consultation SET status = 'failed', last_error = 'the appointment was over before the provider made its room', update_time = now()
        WHERE status = 'creating' AND valid_until <= now()`,

    /** Records that the provider refused to make the room for good. */
    markFailed: async (id: string, error: string): Promise<void> => {
      await prisma.$executeRaw`
        UPDATE consultation SET status = 'failed', last_error = ${error.slice(0, MAX_ERROR_LENGTH)}, update_time = now()
        WHERE id = ${id}::uuid AND status = 'creating'`;
    },

    /** Makes the call due again `delayMs` after now, keeping the error; only if the room is still where the call left it. */
    retryAfter: async (id: string, status: LeasedConsultation['status'], delayMs: number, error: string): Promise<void> => {
      await prisma.$executeRaw`
        UPDATE consultation SET next_attempt_at = now() + make_interval(secs => ${delayMs}::float8 / 1000), last_error = ${error.slice(0, MAX_ERROR_LENGTH)}
        WHERE id = ${id}::uuid AND status = ${status}::consultation_status`;
    },

    findByAppointment: (appointmentId: string) => prisma.consultation.findUnique({ where: { appointmentId } }),

    /** The READY rooms of these appointments, the patient's link only. */
    async readyRoomsOf(appointmentIds: string[]): Promise<PatientRoom[]> {
      if (appointmentIds.length === 0) return [];
      const rooms = await prisma.consultation.findMany({
        where: { appointmentId: { in: appointmentIds }, status: 'ready' },
        select: { appointmentId: true, patientJoinUrl: true, validFrom: true, validUntil: true },
      });
      return rooms.filter((r): r is PatientRoom => r.patientJoinUrl !== null);
    },

    /** How many rooms are owed to the provider (to make or revoke), and the age of the oldest in seconds by the database's clock (0 when none). */
    async owedStats(): Promise<{ count: number; oldestAgeSeconds: number }> {
      const [row] = await prisma.$queryRaw<{ count: number; oldestAgeSeconds: number }[]>`
        SELECT count(*)::int AS count, coalesce(extract(epoch FROM now() - min(update_time)), 0)::float8 AS "oldestAgeSeconds"
        FROM consultation WHERE status IN ('creating', 'revoking')`;
      return row;
    },
  };
}

export type ConsultationsRepo = ReturnType<typeof consultationsRepo>;
