import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConsultationStatus } from '@carebook/proto/booking';
import { pollUntil } from '@carebook/testing';
import { createVideoSlots } from '../../booking/test/consultation-fixtures';
import { messageIdOf } from '../src/messages/message-id';
import { startNotifyCluster, type NotifyCluster } from './cluster';
import { book, newPatient, settledNotifications } from './fixtures';

// A video appointment's messages carry the patient's link to its
// consultation room, never the doctor's: catalog, booking (with its default
// Jitsi adapter) and notifications as processes, a real SMTP server and SMS
// gateway. booking makes the room from the same feed event that schedules
// the confirmation; the confirmation waits a moment for it if it has to.

let c: NotifyCluster;
beforeAll(async () => {
  c = await startNotifyCluster();
});
afterAll(() => c?.close());

it("sends a video appointment's confirmation with the patient's link to the room, not the doctor's, by e-mail and by SMS", async () => {
  const [slot] = await createVideoSlots(c.catalog, 1);
  const patient = await newPatient(c);
  const appointment = await book(c, patient, slot);
  await settledNotifications(c, appointment.id, (rows) => rows.some((r) => r.kind === 'confirmation') && rows.filter((r) => r.kind === 'confirmation').every((r) => r.status === 'sent'));
  const room = await pollUntil('the room', async () => {
    const consultation = await c.booking.getConsultation({ appointmentId: appointment.id });
    return consultation.status === ConsultationStatus.CONSULTATION_STATUS_READY ? consultation : undefined;
  });
  const doctorToken = new URL(room.doctorJoinUrl).search;

  const [mail] = c.smtp.byMessageId(messageIdOf(appointment.id, 'confirmation', 'email'));
  // Soft line breaks of quoted-printable undone, so that a long link reads whole.
  const body = mail.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  expect(body).toContain(room.patientJoinUrl);
  expect(body).not.toContain(doctorToken);

  const [sms] = c.sms.messages.filter((m) => m.idempotencyKey === messageIdOf(appointment.id, 'confirmation', 'sms'));
  expect(sms.text).toContain(room.patientJoinUrl);
  expect(sms.text).not.toContain(doctorToken);
});
