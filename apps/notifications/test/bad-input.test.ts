import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListNotificationsRequest } from '@carebook/proto/notifications';
import { expectGrpcError, TEST_SECRETS_ENV } from '@carebook/testing';
import { startNotifyCluster, type NotifyCluster } from './cluster';
import { book, newPatient, settledNotifications, slotsAhead } from './fixtures';

// Every caller is hostile: ListNotifications refuses bad requests with
// INVALID_ARGUMENT naming the field, and a bad configuration stops the
// process at start-up naming the variable.

const root = fileURLToPath(new URL('../../..', import.meta.url));
const UUID = '0b8a4d4c-3c1e-4a5e-9a39-2f4f8a0c6d11';

let c: NotifyCluster;
beforeAll(async () => {
  c = await startNotifyCluster({ env: { NOTIFY_REMINDER_OFFSETS: '1h' } });
});
afterAll(() => c?.close());

const list = (fields: Partial<ListNotificationsRequest>) => c.notifications.listNotifications({ appointmentId: '', patientId: '', pageSize: 0, pageToken: '', ...fields });

describe('ListNotifications', () => {
  it('lists an appointment and a patient newest first, page by page', async () => {
    const patient = await newPatient(c);
    const [slot] = await slotsAhead(c, 3 * 3_600_000);
    const appointment = await book(c, patient, slot);
    await settledNotifications(c, appointment.id, (rows) => rows.length === 4);
    const first = await list({ appointmentId: appointment.id, pageSize: 3 });
    expect(first.notifications).toHaveLength(3);
    expect(first.nextPageToken).not.toBe('');
    const second = await list({ appointmentId: appointment.id, pageSize: 3, pageToken: first.nextPageToken });
    expect(second.notifications).toHaveLength(1);
    expect(second.nextPageToken).toBe('');
    const all = [...first.notifications, ...second.notifications];
    // Reminders (due in two hours) first, then the confirmations (due at booking).
    expect(all.map((n) => n.scheduledTime!.getTime())).toEqual([...all.map((n) => n.scheduledTime!.getTime())].sort((a, b) => b - a));
    expect(new Set(all.map((n) => n.id)).size).toBe(4);
    expect(all.filter((n) => n.reminderOffset).map((n) => n.reminderOffset!.seconds)).toEqual([3600, 3600]);
    const byPatient = await list({ patientId: patient.id });
    expect(byPatient.notifications.map((n) => n.id).sort()).toEqual(all.map((n) => n.id).sort());
  });

  it('answers an empty list for ids it has no message for (it cannot tell them from unknown ones without asking booking)', async () => {
    expect((await list({ appointmentId: UUID })).notifications).toEqual([]);
    expect((await list({ patientId: UUID })).notifications).toEqual([]);
  });

  it.each([
    ['neither id', {}, 'appointment_id'],
    ['both ids', { appointmentId: UUID, patientId: UUID }, 'patient_id'],
    ['a malformed appointment id', { appointmentId: 'not-a-uuid' }, 'appointment_id'],
    ['a malformed patient id', { patientId: `${UUID}x` }, 'patient_id'],
    ['a page size over 500', { appointmentId: UUID, pageSize: 501 }, 'page_size'],
    ['a negative page size', { appointmentId: UUID, pageSize: -1 }, 'page_size'],
    ['a forged page token', { appointmentId: UUID, pageToken: 'eyJrIjpbXX0.AAAAAAAAAAAAAAAAAAAAAA' }, 'page_token'],
    ['a huge page token', { appointmentId: UUID, pageToken: 'x'.repeat(10_000) }, 'page_token'],
  ])('refuses %s with INVALID_ARGUMENT naming the field', async (_, fields, field) => {
    const before = await c.sql.query('SELECT count(*)::int AS n FROM notification');
    const err = await expectGrpcError(list(fields), status.INVALID_ARGUMENT, { field });
    expect(err.details.length).toBeLessThan(400);
    expect((await c.sql.query('SELECT count(*)::int AS n FROM notification')).rows).toEqual(before.rows);
  });

  it('refuses a page token issued for another query', async () => {
    const patient = await newPatient(c);
    const [a, b] = await slotsAhead(c, 3 * 3_600_000, 2);
    const appointment = await book(c, patient, a);
    await book(c, patient, b);
    await settledNotifications(c, appointment.id, (rows) => rows.length === 4);
    const { nextPageToken } = await list({ patientId: patient.id, pageSize: 1 });
    await expectGrpcError(list({ appointmentId: appointment.id, pageToken: nextPageToken }), status.INVALID_ARGUMENT, { field: 'page_token' });
  });
});

describe('configuration', () => {
  it.each(['24h,2x', '24h,,2h', '1500ms', '-5m', '15d'])('refuses to start with NOTIFY_REMINDER_OFFSETS=%j, naming the variable', async (offsets) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/notifications/src/main.ts'], {
      cwd: root,
      env: { ...process.env, ...TEST_SECRETS_ENV, NOTIFICATIONS_DATABASE_URL: c.databaseUrl, NOTIFICATIONS_PORT: '0', NOTIFY_REMINDER_OFFSETS: offsets },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/NOTIFY_REMINDER_OFFSETS must be/);
  });
});
