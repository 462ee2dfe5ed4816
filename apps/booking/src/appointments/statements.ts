import { selectList, type ColumnsOf, type PreparedStatement } from '@carebook/server';
import type { Appointment } from '../generated/prisma/client';

// The statements every booking runs, prepared (libs/server prepared-statements.ts).

/** Every column of the Appointment model under its field name; test/row-columns.test.ts checks it against schema.prisma. */
export const APPOINTMENT_FIELDS: ColumnsOf<Appointment> = {
  id: 'id',
  patientId: 'patient_id',
  requestId: 'request_id',
  slotId: 'slot_id',
  doctorId: 'doctor_id',
  clinicId: 'clinic_id',
  startTime: 'start_time',
  endTime: 'end_time',
  modality: 'modality',
  status: 'status',
  reason: 'reason',
  cancelReason: 'cancel_reason',
  cancelledBy: 'cancelled_by',
  replacesAppointmentId: 'replaces_appointment_id',
  holdDurationMs: 'hold_duration_ms',
  holdExpireTime: 'hold_expire_time',
  createTime: 'create_time',
  updateTime: 'update_time',
};

/** The appointment's columns under the Prisma model's field names, so raw rows are Appointment objects. */
export const APPOINTMENT_COLUMNS = selectList(APPOINTMENT_FIELDS);

// Within one statement, set_config(…, true) lasts until that statement's
// implicit transaction commits: it relaxes exactly the commit it is part of.
const RELAXED_COMMIT = `(SELECT set_config('synchronous_commit', 'off', true)) AS relaxed_commit`;

/**
 * A PENDING appointment, committed durably: the intent, with its slot's id
 * only; the slot's facts come with the claim's answer (SETTLE_BOOKED,
 * SETTLE_HELD). Values: patient, request id, slot, reason, replaced
 * appointment, hold duration in milliseconds (null for a booking).
 */
export const INSERT_PENDING: PreparedStatement = {
  name: 'appointment_insert_pending',
  text: `
    INSERT INTO appointment (patient_id, request_id, slot_id, status, reason, replaces_appointment_id, hold_duration_ms)
    VALUES ($1::uuid, $2, $3::uuid, 'pending', $4, $5::uuid, $6::integer)
    RETURNING ${APPOINTMENT_COLUMNS}`,
};

/**
 * A FAILED appointment for a slot this process knows taken, its commit not
 * waiting for the WAL flush; the slot's facts as far as known (else NULL).
 * Values: as INSERT_PENDING, then doctor, clinic, start, end, modality.
 */
export const INSERT_FAILED: PreparedStatement = {
  name: 'appointment_insert_failed',
  text: `
    INSERT INTO appointment (patient_id, request_id, slot_id, status, reason, replaces_appointment_id, hold_duration_ms,
                             doctor_id, clinic_id, start_time, end_time, modality)
    SELECT $1::uuid, $2, $3::uuid, 'failed', $4, $5::uuid, $6::integer, $7::uuid, $8::uuid, $9::timestamptz, $10::timestamptz, $11::modality
    FROM ${RELAXED_COMMIT}
    RETURNING ${APPOINTMENT_COLUMNS}`,
};

// The slot's facts from the claim's answer, $2 to $6, set by the statement that settles the claim.
const SLOT_FACTS = `doctor_id = $2::uuid, clinic_id = $3::uuid, start_time = $4::timestamptz, end_time = $5::timestamptz, modality = $6::modality`;

/**
 * PENDING → BOOKED with the slot's facts, committed durably: the caller is
 * told BOOKED, and a database crash must not turn that back into PENDING.
 * Values: id, doctor, clinic, start, end, modality.
 */
export const SETTLE_BOOKED: PreparedStatement = {
  name: 'appointment_settle_booked',
  text: `
    UPDATE appointment SET status = 'booked', ${SLOT_FACTS}, update_time = now()
    WHERE id = $1::uuid AND status = 'pending'
    RETURNING ${APPOINTMENT_COLUMNS}`,
};

/**
 * PENDING → FAILED, its commit not waiting for the WAL flush: losing it in a
 * crash only leaves the appointment PENDING, and the reconciler derives the
 * same outcome again. Values: id.
 */
export const SETTLE_FAILED: PreparedStatement = {
  name: 'appointment_settle_failed',
  text: `
    UPDATE appointment SET status = 'failed', update_time = now()
    FROM ${RELAXED_COMMIT}
    WHERE id = $1::uuid AND status = 'pending'
    RETURNING ${APPOINTMENT_COLUMNS}`,
};

/**
 * PENDING → HELD with the slot's facts and catalog's instant at which the
 * hold lapses, committed durably: the caller is told HELD. Values: as
 * SETTLE_BOOKED, then the hold expire time.
 */
export const SETTLE_HELD: PreparedStatement = {
  name: 'appointment_settle_held',
  text: `
    UPDATE appointment SET status = 'held', ${SLOT_FACTS}, hold_expire_time = $7::timestamptz, update_time = now()
    WHERE id = $1::uuid AND status = 'pending'
    RETURNING ${APPOINTMENT_COLUMNS}`,
};

/**
 * Removes a PENDING appointment whose claim catalog refused as a bad request
 * (the slot is unknown or has started): nothing stays written, as when a
 * request is refused before its record. Values: id.
 */
export const DELETE_PENDING: PreparedStatement = {
  name: 'appointment_delete_pending',
  text: `DELETE FROM appointment WHERE id = $1::uuid AND status = 'pending' RETURNING id`,
};

/** HELD → BOOKED, once catalog turned the hold into a booking; committed durably. Values: id. */
export const SETTLE_CONFIRMED: PreparedStatement = {
  name: 'appointment_settle_confirmed',
  text: `
    UPDATE appointment SET status = 'booked', update_time = now()
    WHERE id = $1::uuid AND status = 'held'
    RETURNING ${APPOINTMENT_COLUMNS}`,
};
