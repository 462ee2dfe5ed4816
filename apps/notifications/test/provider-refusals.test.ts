import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Patient } from '@carebook/proto/booking';
import { pollUntil } from '@carebook/testing';
import { messageIdOf } from '../src/messages/message-id';
import { startNotifyCluster, type NotifyCluster } from './cluster';
import { book, newPatient, rowOf, settledNotifications, slotsAhead, smsWithId, type StoredNotification } from './fixtures';

// What a provider's refusal does to a message, end to end: the real SMTP sink
// and SMS gateway are made to refuse the next requests. A refusal for good
// (SMTP 5xx, a gateway's 4xx) ends the message FAILED at once; a refusal that
// may pass later (SMTP 4xx, a gateway's 5xx) is retried until
// NOTIFY_MAX_ATTEMPTS tries have failed. Either way the stored error names
// the provider's code, never the recipient.

const MAX_ATTEMPTS = 3;

let c: NotifyCluster;
beforeAll(async () => {
  // Reminders an hour before slots three hours ahead: only the confirmations go out here.
  c = await startNotifyCluster({ env: { NOTIFY_REMINDER_OFFSETS: '1h', NOTIFY_MAX_ATTEMPTS: String(MAX_ATTEMPTS) } });
});
afterAll(() => c?.close());

/** A new patient's booking three hours ahead, once both its confirmations are no longer SCHEDULED. */
async function bookAndSettle(): Promise<{ patient: Patient; appointmentId: string; rows: StoredNotification[] }> {
  const patient = await newPatient(c);
  const appointment = await book(c, patient, (await slotsAhead(c, 3 * 3_600_000))[0]);
  const confirmations = (rows: StoredNotification[]) => rows.filter((r) => r.kind === 'confirmation');
  const rows = await settledNotifications(c, appointment.id, (r) => confirmations(r).length === 2 && confirmations(r).every((n) => n.status !== 'scheduled'));
  return { patient, appointmentId: appointment.id, rows };
}

/**
 * Asserts that neither confirmation reached its provider, that both were
 * logged as failed for good, and that neither the stored errors nor the logs
 * hold the patient's address (the SMTP sink's refusal quotes it) or number.
 */
async function expectNothingDelivered(patient: Patient, appointmentId: string, rows: StoredNotification[]): Promise<void> {
  expect(c.smtp.byMessageId(messageIdOf(appointmentId, 'confirmation', 'email'))).toHaveLength(0);
  expect(smsWithId(c, messageIdOf(appointmentId, 'confirmation', 'sms'))).toBe(0);
  // A row is FAILED a moment before its log line has come through the process's output.
  const failures = await pollUntil('both failures logged', async () => {
    const lines = c.replicas[0].errorLogs().filter((line) => rows.some((r) => line.includes(r.id)));
    return lines.length >= 2 ? lines : undefined;
  });
  expect(failures.map((line) => JSON.parse(line).msg)).toEqual(['notification failed for good', 'notification failed for good']);
  const digits = patient.phone.replace(/\D/g, '');
  for (const text of [...rows.map((r) => r.last_error ?? ''), ...c.replicas[0].errorLogs()]) {
    for (const contact of [patient.email, patient.phone, digits]) expect(text).not.toContain(contact);
  }
}

/** Whether the send job of a message is still queued. */
async function jobsOf(ids: string[]): Promise<number> {
  const { rows } = await c.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE key = ANY($1::text[])', [ids]);
  return rows[0].n;
}

it('ends a message FAILED at its first refusal for good (SMTP 550, gateway 400), with the code and attempts counted', async () => {
  c.smtp.refuseNext(1, 550);
  c.sms.failNext(1, 400);
  const { patient, appointmentId, rows } = await bookAndSettle();
  expect(rowOf(rows, 'confirmation', 'email')).toMatchObject({ status: 'failed', attempts: 1, last_error: 'SMTP 550 (DATA)', sent_time: null });
  expect(rowOf(rows, 'confirmation', 'sms')).toMatchObject({ status: 'failed', attempts: 1, last_error: 'SMS gateway 400', sent_time: null });
  await expectNothingDelivered(patient, appointmentId, rows);
  expect(await jobsOf(rows.filter((r) => r.kind === 'confirmation').map((r) => r.id))).toBe(0);
});

it(`ends a message FAILED after ${MAX_ATTEMPTS} retryable refusals (SMTP 451, gateway 503): NOTIFY_MAX_ATTEMPTS`, async () => {
  c.smtp.refuseNext(MAX_ATTEMPTS, 451);
  c.sms.failNext(MAX_ATTEMPTS, 503);
  const { patient, appointmentId, rows } = await bookAndSettle();
  expect(rowOf(rows, 'confirmation', 'email')).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, last_error: 'SMTP 451 (DATA)', sent_time: null });
  expect(rowOf(rows, 'confirmation', 'sms')).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, last_error: 'SMS gateway 503', sent_time: null });
  await expectNothingDelivered(patient, appointmentId, rows);
  expect(await jobsOf(rows.filter((r) => r.kind === 'confirmation').map((r) => r.id))).toBe(0);
});
