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

const insertAppointment = (status: 'pending' | 'failed', from: string) => `
  INSERT INTO appointment (patient_id, request_id, slot_id, doctor_id, clinic_id, start_time, end_time, modality, status, reason, replaces_appointment_id, hold_duration_ms)
  SELECT $1::uuid, $2, $3::uuid, $4::uuid, $5::uuid, $6::timestamptz, $7::timestamptz, $11::modality, '${status}', $8, $9::uuid, $10::integer ${from}
  RETURNING ${APPOINTMENT_COLUMNS}`;

/**
 * A PENDING appointment, committed durably. Values: patient, request id,
 * slot, doctor, clinic, start, end, reason, replaced appointment, hold
 * duration in milliseconds (null for a booking), modality.
 */
export const INSERT_PENDING: PreparedStatement = { name: 'appointment_insert_pending', text: insertAppointment('pending', '') };

/** A FAILED appointment, its commit not waiting for the WAL flush. Values as INSERT_PENDING. */
export const INSERT_FAILED: PreparedStatement = { name: 'appointment_insert_failed', text: insertAppointment('failed', `FROM ${RELAXED_COMMIT}`) };

/**
 * PENDING → BOOKED, committed durably: the caller is told BOOKED, and a
 * database crash must not turn that back into PENDING. Values: id.
 */
export const SETTLE_BOOKED: PreparedStatement = {
  name: 'appointment_settle_booked',
  text: `
    UPDATE appointment SET status = 'booked', update_time = now()
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
 * PENDING → HELD, with catalog's instant at which the hold lapses, committed
 * durably: the caller is told HELD. Values: id, hold expire time.
 */
export const SETTLE_HELD: PreparedStatement = {
  name: 'appointment_settle_held',
  text: `
    UPDATE appointment SET status = 'held', hold_expire_time = $2::timestamptz, update_time = now()
    WHERE id = $1::uuid AND status = 'pending'
    RETURNING ${APPOINTMENT_COLUMNS}`,
};

/** HELD → BOOKED, once catalog turned the hold into a booking; committed durably. Values: id. */
export const SETTLE_CONFIRMED: PreparedStatement = {
  name: 'appointment_settle_confirmed',
  text: `
    UPDATE appointment SET status = 'booked', update_time = now()
    WHERE id = $1::uuid AND status = 'held'
    RETURNING ${APPOINTMENT_COLUMNS}`,
};
