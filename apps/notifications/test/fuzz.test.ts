// Property-based fuzzing of ListNotifications, notifications' one RPC: a
// valid request (an appointment's messages, second page) with one field, or
// the whole encoding, mutated and sent raw. No reply may be INTERNAL or
// UNKNOWN, or larger than 16 KB, and no refusal may write to the
// notifications database. FUZZ_SEED, FUZZ_TIME_MS, FUZZ_PATH and
// FUZZ_REPORT=1: see libs/testing/src/fuzz.

import { status, type Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationServiceService as Notifications, type ListNotificationsRequest } from '@carebook/proto/notifications';
import { callRaw, createRawClient, fuzzServices, fuzzSettingsFromEnv, fuzzTarget } from '@carebook/testing';
import { startNotifyCluster, type NotifyCluster } from './cluster';
import { book, newPatient, settledNotifications, slotsAhead } from './fixtures';

const settings = fuzzSettingsFromEnv();
let c: NotifyCluster;
let raw: Client;
let valid: ListNotificationsRequest;

beforeAll(async () => {
  // Nothing may write while the fuzz runs, or a refusal would seem to have
  // written: reminders are an hour off, and the delivery workers' heartbeat
  // (a third of NOTIFY_WORKER_STALE_MS) beats once at start-up.
  c = await startNotifyCluster({ env: { NOTIFY_REMINDER_OFFSETS: '1h', NOTIFY_WORKER_STALE_MS: '3600000' } });
  const appointment = await book(c, await newPatient(c), (await slotsAhead(c, 3 * 3_600_000))[0]);
  await settledNotifications(c, appointment.id, (rows) => rows.length === 4 && rows.filter((r) => r.kind === 'confirmation').every((r) => r.status === 'sent'));
  const first = await c.notifications.listNotifications({ appointmentId: appointment.id, patientId: '', pageSize: 1, pageToken: '' });
  valid = { appointmentId: appointment.id, patientId: '', pageSize: 1, pageToken: first.nextPageToken };
  raw = createRawClient(c.replicas[0].address);
});

afterAll(async () => {
  raw?.close();
  await c?.close();
});

const targets = () => [fuzzTarget(Notifications.listNotifications, () => valid)];

describe('NotificationService fuzz', () => {
  it('accepts the valid request the fuzz starts from, a second page', async () => {
    const [target] = targets();
    const reply = await callRaw(raw, target.path, target.codec.encode(target.valid()).finish());
    expect(status[reply.code], reply.details).toBe('OK');
    expect(valid.pageToken, 'the listing has a second page').not.toBe('');
  });

  it('never answers INTERNAL or UNKNOWN, never replies over 16 KB, and writes nothing when it refuses', async () => {
    const tally = await fuzzServices({ address: c.replicas[0].address, targets: targets(), databases: { notifications: c.sql }, settings });
    expect(tally.findings.size).toBe(0);
  }, settings.timeMs + 120_000);
});
