import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConsultationStatus } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { createTestDatabase, freePort, pollUntil, startServiceProcess, startSmtpSink, type ServiceProcess, type SmtpSink } from '@carebook/testing';
import { book, createPatient } from '../../booking/test/booking-fixtures';
import { createVideoSlots, untilConsultation } from '../../booking/test/consultation-fixtures';
import { startBookingUnderTest, type BookingUnderTest } from '../../booking/test/harness';
import { messageIdOf } from '../src/messages/message-id';

// A video appointment's confirmation e-mail, through a real SMTP server,
// carries the patient's link to the consultation room and never the
// doctor's. The room is made before notifications starts, so that the
// confirmation, sent as notifications reads the feed from its start, goes
// out once the room exists (one sent before would go without the link, as
// docs/design.md §3.8 says).

let sys: BookingUnderTest;
let slot: Slot;
let smtp: SmtpSink;
let notifications: ServiceProcess | undefined;
let dropNotifyDb: (() => Promise<void>) | undefined;

beforeAll(async () => {
  sys = await startBookingUnderTest();
  [slot] = await createVideoSlots(sys.catalog.client, 1);
  smtp = await startSmtpSink();
});
afterAll(async () => {
  await notifications?.stop();
  await dropNotifyDb?.();
  await smtp?.stop();
  await sys?.close();
});

it("sends a video appointment's confirmation with the patient's link to the room, not the doctor's", async () => {
  const patient = await createPatient(sys.client, { email: 'video.patient@example.org' });
  const appointment = await book(sys, patient, slot);
  const room = await untilConsultation(sys, appointment.id, ConsultationStatus.CONSULTATION_STATUS_READY);

  const db = await createTestDatabase('notifications');
  dropNotifyDb = db.drop;
  const port = await freePort();
  notifications = await startServiceProcess('notifications', port, {
    NOTIFICATIONS_PORT: String(port),
    NOTIFICATIONS_DATABASE_URL: db.url,
    NOTIFICATIONS_DB_POOL_SIZE: '6',
    BOOKING_ADDRESS: `127.0.0.1:${sys.service.port}`,
    CATALOG_ADDRESS: sys.catalog.address,
    NOTIFY_SMTP_URL: smtp.url,
    NOTIFY_POLL_INTERVAL_MS: '100',
  });

  const [mail] = await pollUntil('the confirmation e-mail', async () => {
    const sent = smtp.byMessageId(messageIdOf(appointment.id, 'confirmation', 'email'));
    return sent.length > 0 ? sent : undefined;
  }, 30_000);
  expect(mail.envelope.to).toEqual([patient.email]);
  // Unfolded: a long line may be wrapped by the transfer encoding.
  const body = mail.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  expect(body).toContain(room.patientJoinUrl);
  expect(body).not.toContain(room.doctorJoinUrl);
  expect(body).not.toContain(new URL(room.doctorJoinUrl).search);
});
