import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Patient } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { createTestDatabase, freePort, inspectionPool, pollUntil, startServiceProcess, startSmtpSink, type ServiceProcess, type SmtpSink } from '@carebook/testing';
import type pg from 'pg';
import { book, createPatient } from '../../booking/test/booking-fixtures';
import { createVideoSlots } from '../../booking/test/consultation-fixtures';
import { flakyVideoRooms, type FlakyVideoRooms } from '../../booking/test/flaky-video-rooms';
import { startBookingUnderTest, type BookingUnderTest } from '../../booking/test/harness';
import { messageIdOf } from '../src/messages/message-id';
import { TEST_NOTIFY_ENV } from './cluster';

// A video appointment's confirmation waits a few tries for its room when
// the video provider is slow, and goes without the link when it keeps
// failing. booking runs in this process, with a video provider that can be
// held or made to fail (behind the real port, the real Jitsi adapter
// otherwise); notifications runs as its own process with a real SMTP server.

let sys: BookingUnderTest;
let provider: FlakyVideoRooms;
let slots: Slot[];
let patient: Patient;
let smtp: SmtpSink;
let notifications: ServiceProcess;
let notifySql: pg.Pool;
let dropNotifyDb: () => Promise<void>;

beforeAll(async () => {
  provider = flakyVideoRooms();
  sys = await startBookingUnderTest({
    videoRooms: provider,
    video: { opensBeforeMs: 900_000, graceMs: 1_800_000, intervalMs: 200, maxBackoffMs: 100 },
  });
  slots = await createVideoSlots(sys.catalog.client, 2);
  patient = await createPatient(sys.client, { email: 'video.patient@example.org' });
  smtp = await startSmtpSink();
  const db = await createTestDatabase('notifications');
  dropNotifyDb = db.drop;
  notifySql = inspectionPool(db.url, 2);
  const port = await freePort();
  notifications = await startServiceProcess('notifications', port, {
    ...TEST_NOTIFY_ENV,
    NOTIFICATIONS_PORT: String(port),
    NOTIFICATIONS_DATABASE_URL: db.url,
    NOTIFICATIONS_DB_POOL_SIZE: '6',
    BOOKING_ADDRESS: `127.0.0.1:${sys.service.port}`,
    CATALOG_ADDRESS: sys.catalog.address,
    NOTIFY_SMTP_URL: smtp.url,
  });
});
afterAll(async () => {
  provider?.reset();
  await notifications?.stop();
  await notifySql?.end();
  await dropNotifyDb?.();
  await smtp?.stop();
  await sys?.close();
});

/** The confirmation e-mail of `appointmentId` once sent, and its row. */
async function sentConfirmation(appointmentId: string) {
  const [mail] = await pollUntil('the confirmation e-mail', async () => {
    const sent = smtp.byMessageId(messageIdOf(appointmentId, 'confirmation', 'email'));
    return sent.length > 0 ? sent : undefined;
  }, 30_000);
  // The row is marked SENT just after the mail server's answer.
  const row = await pollUntil('the confirmation recorded as sent', async () => {
    const { rows } = await notifySql.query<{ status: string; attempts: number }>(
      "SELECT status::text, attempts FROM notification WHERE appointment_id = $1 AND kind = 'confirmation' AND channel = 'email'",
      [appointmentId],
    );
    return rows[0]?.status === 'sent' ? rows[0] : undefined;
  });
  // Soft line breaks of quoted-printable undone, so that a long link reads whole.
  return { body: mail.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '='), row };
}

describe('a video appointment whose room is late', () => {
  it('is confirmed once the room exists, with its link', async () => {
    provider.hold();
    const appointment = await book(sys, patient, slots[0]);
    await pollUntil('a try that waited for the room', async () => {
      const { rows } = await notifySql.query("SELECT 1 FROM notification WHERE appointment_id = $1 AND kind = 'confirmation' AND last_error LIKE '%room%'", [
        appointment.id,
      ]);
      return rows.length > 0 ? true : undefined;
    }, 20_000);
    provider.release();
    const { body, row } = await sentConfirmation(appointment.id);
    const { appointment: shown } = await sys.client.getAppointment({ id: appointment.id });
    expect(body).toContain(shown!.consultation!.joinUrl);
    expect(row.status).toBe('sent');
    expect(row.attempts).toBeGreaterThan(1);
  });

  it('is confirmed without a link when the provider keeps failing', async () => {
    provider.failCreates(1000);
    const appointment = await book(sys, patient, slots[1]);
    const { body, row } = await sentConfirmation(appointment.id);
    expect(body).not.toMatch(/Video link/);
    expect(row).toEqual({ status: 'sent', attempts: 4 });
  });
});
