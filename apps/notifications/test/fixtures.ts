import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { Patient, type Appointment } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { pollUntil } from '@carebook/testing';
import { createClinic, createDoctor } from '../../catalog/test/harness';
import type { NotifyCluster } from './cluster';

// Seeding and reading for the notifications tests.

/** A notification row as the tests read it. */
export interface StoredNotification {
  id: string;
  appointment_id: string;
  channel: 'email' | 'sms';
  kind: 'confirmation' | 'reminder' | 'cancellation' | 'reschedule';
  status: 'scheduled' | 'sent' | 'skipped' | 'failed';
  reminder_offset_ms: number | null;
  scheduled_time: Date;
  sent_time: Date | null;
  skip_reason: string | null;
  attempts: number;
  last_error: string | null;
}

/** `count` open slots of one new doctor, 20 minutes each, the first starting `msAhead` from now (on a whole second). */
export async function slotsAhead(c: NotifyCluster, msAhead: number, count = 1): Promise<Slot[]> {
  const clinic = await createClinic(c.catalog);
  const doctor = await createDoctor(c.catalog, clinic.id);
  const start = Math.ceil((Date.now() + msAhead) / 1000) * 1000;
  const slots = Array.from({ length: count }, (_, i) => ({ startTime: new Date(start + i * 1_200_000), endTime: new Date(start + (i + 1) * 1_200_000) }));
  return (await c.catalog.createSlots({ doctorId: doctor.id, slots })).slots;
}

/** A patient with a fresh e-mail address and a phone unless `fields` say otherwise. */
export async function newPatient(c: NotifyCluster, fields: Partial<Patient> = {}): Promise<Patient> {
  const tag = randomUUID().slice(0, 8);
  const patient = Patient.fromPartial({ displayName: 'Erika Mustermann', email: `erika.${tag}@example.org`, phone: '+49 30 1234567', birthDate: { year: 1984, month: 8, day: 12 }, ...fields });
  return (await c.booking.createPatient({ patient })).patient!;
}

/** Books `slot` for `patient`. */
export async function book(c: NotifyCluster, patient: Patient, slot: Slot): Promise<Appointment> {
  return (await c.booking.bookAppointment({ slotId: slot.id, patientId: patient.id, requestId: randomUUID(), reason: '' })).appointment!;
}

/** Every notification row of `appointmentId`, by kind, channel and offset. */
export async function notificationsOf(c: NotifyCluster, appointmentId: string): Promise<StoredNotification[]> {
  const { rows } = await c.sql.query<StoredNotification>(
    `SELECT id::text, appointment_id::text, channel::text, kind::text, status::text, reminder_offset_ms, scheduled_time, sent_time, skip_reason, attempts, last_error
       FROM notification WHERE appointment_id = $1 ORDER BY kind, channel, reminder_offset_ms`,
    [appointmentId],
  );
  return rows;
}

/** Polls until `appointmentId` has rows and none of them is SCHEDULED (or `done` says so); returns them. */
export async function settledNotifications(
  c: NotifyCluster,
  appointmentId: string,
  done: (rows: StoredNotification[]) => boolean = (rows) => rows.length > 0 && rows.every((r) => r.status !== 'scheduled'),
  timeoutMs = 20_000,
): Promise<StoredNotification[]> {
  return pollUntil(`notifications of ${appointmentId} settled`, async () => {
    const rows = await notificationsOf(c, appointmentId);
    return done(rows) ? rows : undefined;
  }, timeoutMs, 50);
}

/** The one row of (kind, channel[, offset]) among `rows`. */
export function rowOf(rows: StoredNotification[], kind: StoredNotification['kind'], channel: StoredNotification['channel'], offsetMs: number | null = null): StoredNotification {
  const matching = rows.filter((r) => r.kind === kind && r.channel === channel && r.reminder_offset_ms === offsetMs);
  expect(matching, `${kind}/${channel}/${offsetMs}`).toHaveLength(1);
  return matching[0];
}

/** How many SMS the gateway accepted for `messageId` (its idempotency key). */
export const smsWithId = (c: NotifyCluster, messageId: string) => c.sms.messages.filter((m) => m.idempotencyKey === messageId).length;
