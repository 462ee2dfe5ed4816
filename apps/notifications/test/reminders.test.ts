import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppointmentEventType, Canceller } from '@carebook/proto/booking';
import { pollUntil } from '@carebook/testing';
import { feedClient } from '../../booking/test/feed-client';
import { messageIdOf } from '../src/messages/message-id';
import { startNotifyCluster, type NotifyCluster } from './cluster';
import { book, newPatient, rowOf, settledNotifications, slotsAhead, smsWithId } from './fixtures';

// Reminders on the real clock with short offsets: a 60 s reminder (always
// already past for slots a few seconds ahead) and a 3 s one. No fake clock:
// slots start a few seconds from now and the test waits for them.

const OFFSETS = { long: 60_000, short: 3_000 };
// How late a reminder may go out: the worker's poll interval (0.1 s) plus the
// send itself (booking, catalog, SMTP on one loaded machine).
const ON_TIME_TOLERANCE_MS = 1_500;

let c: NotifyCluster;
beforeAll(async () => {
  c = await startNotifyCluster({ env: { NOTIFY_REMINDER_OFFSETS: '60s,3s' } });
});
afterAll(() => c?.close());

const emailsWithId = (id: string) => c.smtp.byMessageId(id).length;

describe('on BOOKED', () => {
  it('confirms at once, sends the reminder at its time, and schedules no reminder whose time had passed', async () => {
    const [slot] = await slotsAhead(c, 7_000);
    const patient = await newPatient(c);
    const appointment = await book(c, patient, slot);
    const rows = await settledNotifications(c, appointment.id);

    // Both channels of the confirmation and of the 3 s reminder; the 60 s one was past when the event was applied.
    expect(rows.map((r) => `${r.kind}/${r.channel}/${r.reminder_offset_ms}/${r.status}`).sort()).toEqual([
      'confirmation/email/null/sent',
      'confirmation/sms/null/sent',
      'reminder/email/3000/sent',
      'reminder/sms/3000/sent',
    ]);
    for (const channel of ['email', 'sms'] as const) {
      const reminder = rowOf(rows, 'reminder', channel, OFFSETS.short);
      expect(reminder.scheduled_time.getTime()).toBe(slot.startTime!.getTime() - OFFSETS.short);
      const lateness = reminder.sent_time!.getTime() - reminder.scheduled_time.getTime();
      expect(lateness, `${channel} reminder sent ${lateness} ms after its time`).toBeGreaterThanOrEqual(0);
      expect(lateness).toBeLessThan(ON_TIME_TOLERANCE_MS);
      expect(reminder.attempts).toBe(1);
    }
    expect(emailsWithId(messageIdOf(appointment.id, 'confirmation', 'email'))).toBe(1);
    expect(emailsWithId(messageIdOf(appointment.id, 'reminder', 'email', OFFSETS.short))).toBe(1);
    expect(smsWithId(c, messageIdOf(appointment.id, 'reminder', 'sms', OFFSETS.short))).toBe(1);
    expect(emailsWithId(messageIdOf(appointment.id, 'reminder', 'email', OFFSETS.long))).toBe(0);
    // The address is the patient's, looked up at send time.
    expect(c.smtp.byMessageId(messageIdOf(appointment.id, 'reminder', 'email', OFFSETS.short))[0].envelope.to).toEqual([patient.email]);
  });
});

describe('on CANCELLED', () => {
  it('skips a reminder cancelled 100 ms before it is due, sends none, and sends the cancellation', async () => {
    const [slot] = await slotsAhead(c, 7_000);
    const appointment = await book(c, await newPatient(c), slot);
    const before = await settledNotifications(c, appointment.id, (rows) => rows.some((r) => r.kind === 'reminder') && rows.filter((r) => r.kind === 'confirmation').every((r) => r.status === 'sent'));
    const due = rowOf(before, 'reminder', 'email', OFFSETS.short).scheduled_time.getTime();
    // Started 150 ms before, so that it has committed about 100 ms before the reminder is due.
    await new Promise((resolve) => setTimeout(resolve, due - 150 - Date.now()));
    await c.booking.cancelAppointment({ id: appointment.id, reason: 'feeling better', cancelledBy: Canceller.CANCELLER_PATIENT });
    expect(Date.now(), 'the cancellation committed before the reminder was due').toBeLessThan(due);

    const rows = await settledNotifications(c, appointment.id, (r) => r.some((n) => n.kind === 'cancellation') && r.every((n) => n.status !== 'scheduled'));
    for (const channel of ['email', 'sms'] as const) {
      expect(rowOf(rows, 'reminder', channel, OFFSETS.short)).toMatchObject({ status: 'skipped', skip_reason: 'APPOINTMENT_CANCELLED', sent_time: null });
      expect(rowOf(rows, 'cancellation', channel)).toMatchObject({ status: 'sent' });
    }
    // Past the reminder's time: nothing went out for it, on either channel.
    await pollUntil('the reminder time passed', async () => (Date.now() > due + 1_000 ? true : undefined), 5_000);
    expect(emailsWithId(messageIdOf(appointment.id, 'reminder', 'email', OFFSETS.short))).toBe(0);
    expect(smsWithId(c, messageIdOf(appointment.id, 'reminder', 'sms', OFFSETS.short))).toBe(0);
    expect(emailsWithId(messageIdOf(appointment.id, 'cancellation', 'email'))).toBe(1);
  });
});

describe('on RESCHEDULED', () => {
  it("skips the old appointment's reminders, sends a 'moved to' message and the new appointment's reminder", async () => {
    const [oldSlot] = await slotsAhead(c, 30_000);
    const [newSlot] = await slotsAhead(c, 7_000);
    const old = await book(c, await newPatient(c), oldSlot);
    await settledNotifications(c, old.id, (rows) => rows.some((r) => r.kind === 'reminder'));
    const { appointment: moved } = await c.booking.rescheduleAppointment({ id: old.id, newSlotId: newSlot.id, requestId: randomUUID() });

    const oldRows = await settledNotifications(c, old.id, (rows) => rows.filter((r) => r.kind === 'reminder').every((r) => r.status === 'skipped'));
    for (const channel of ['email', 'sms'] as const) {
      expect(rowOf(oldRows, 'reminder', channel, OFFSETS.short)).toMatchObject({ status: 'skipped', skip_reason: 'APPOINTMENT_MOVED' });
    }
    const newRows = await settledNotifications(c, moved!.id);
    expect(newRows.map((r) => `${r.kind}/${r.channel}/${r.status}`).sort()).toEqual(['reminder/email/sent', 'reminder/sms/sent', 'reschedule/email/sent', 'reschedule/sms/sent']);
    const [movedMail] = c.smtp.byMessageId(messageIdOf(moved!.id, 'reschedule', 'email'));
    expect(movedMail.headers.subject).toMatch(/^Appointment moved to /);
    expect(emailsWithId(messageIdOf(moved!.id, 'reminder', 'email', OFFSETS.short))).toBe(1);
    expect(emailsWithId(messageIdOf(old.id, 'reminder', 'email', OFFSETS.short))).toBe(0);
  });
});

describe('consent and contacts', () => {
  it('honours an SMS opt-out (UpdatePatient sms_reminders), and sends only SMS to a patient without e-mail', async () => {
    const optedOut = await newPatient(c);
    await c.booking.updatePatient({ patient: { ...optedOut, smsReminders: false }, updateMask: ['sms_reminders'] });
    const [slot] = await slotsAhead(c, 7_000);
    const appointment = await book(c, optedOut, slot);
    const rows = await settledNotifications(c, appointment.id);
    for (const kind of ['confirmation', 'reminder'] as const) {
      const offset = kind === 'reminder' ? OFFSETS.short : null;
      expect(rowOf(rows, kind, 'sms', offset)).toMatchObject({ status: 'skipped', skip_reason: 'NO_CONSENT' });
      expect(rowOf(rows, kind, 'email', offset)).toMatchObject({ status: 'sent' });
    }
    expect(smsWithId(c, messageIdOf(appointment.id, 'reminder', 'sms', OFFSETS.short))).toBe(0);

    const smsOnly = await newPatient(c, { email: '' });
    const [later] = await slotsAhead(c, 60_000);
    const other = await book(c, smsOnly, later);
    const otherRows = await settledNotifications(c, other.id, (r) => r.filter((n) => n.kind === 'confirmation').every((n) => n.status !== 'scheduled') && r.length > 0);
    expect(rowOf(otherRows, 'confirmation', 'email')).toMatchObject({ status: 'skipped', skip_reason: 'NO_CONTACT' });
    expect(rowOf(otherRows, 'confirmation', 'sms')).toMatchObject({ status: 'sent' });
    expect(smsWithId(c, messageIdOf(other.id, 'confirmation', 'sms'))).toBe(1);
    expect(emailsWithId(messageIdOf(other.id, 'confirmation', 'email'))).toBe(0);
  });
});

describe('the send-time check', () => {
  it('drops a reminder whose cancellation never reached notifications', async () => {
    const [slot] = await slotsAhead(c, 9_000);
    const appointment = await book(c, await newPatient(c), slot);
    await settledNotifications(c, appointment.id, (rows) => rows.some((r) => r.kind === 'reminder') && rows.filter((r) => r.kind === 'confirmation').every((r) => r.status === 'sent'));
    // notifications stops; the cancellation happens; and its feed is made to
    // pass over it, as if it were far behind: only the check at send time
    // can stop the reminder now.
    await c.replicas[0].stop('SIGTERM');
    await c.booking.cancelAppointment({ id: appointment.id, reason: '' });
    await c.sql.query('UPDATE feed_cursor SET position = $1', [await positionOfCancellation(appointment.id)]);
    await c.startReplica(0);

    const rows = await settledNotifications(c, appointment.id, (r) => r.filter((n) => n.kind === 'reminder').every((n) => n.status !== 'scheduled'));
    expect(rows.some((r) => r.kind === 'cancellation'), 'the cancellation event was never applied').toBe(false);
    for (const channel of ['email', 'sms'] as const) {
      expect(rowOf(rows, 'reminder', channel, OFFSETS.short)).toMatchObject({ status: 'skipped', skip_reason: 'APPOINTMENT_CANCELLED' });
    }
    expect(emailsWithId(messageIdOf(appointment.id, 'reminder', 'email', OFFSETS.short))).toBe(0);
  });
});

/** The feed position of the appointment's cancellation, read with booking's internal credential. */
async function positionOfCancellation(appointmentId: string): Promise<number> {
  const client = feedClient(c.bookingPort);
  try {
    return await pollUntil('the cancellation in the feed', async () => {
      const { events } = await client.listAppointmentEvents({ afterPosition: 0, pageSize: 1000 });
      return events.find((e) => e.type === AppointmentEventType.APPOINTMENT_EVENT_TYPE_CANCELLED && e.appointment?.id === appointmentId)?.position;
    });
  } finally {
    client.close();
  }
}
