import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListNotificationsRequest } from '@carebook/proto/notifications';
import { expectGrpcError, freePort, metricValue, pollUntil, scrapeMetrics, type MetricSample } from '@carebook/testing';
import { startNotifyCluster, type NotifyCluster } from './cluster';
import { book, newPatient, rowOf, settledNotifications, slotsAhead } from './fixtures';

// notifications' Prometheus endpoint, scraped over HTTP as Prometheus would:
// the gRPC server and client counters move by exactly the calls made, and the
// gauges read the feed cursor, booking's feed and the messages due.

let c: NotifyCluster;
let metricsPort: number;
beforeAll(async () => {
  metricsPort = await freePort();
  // Reminders an hour before slots three hours ahead: only confirmations fall due in this file.
  c = await startNotifyCluster({ env: { NOTIFY_REMINDER_OFFSETS: '1h', NOTIFICATIONS_METRICS_PORT: String(metricsPort), NOTIFY_MAX_ATTEMPTS: '100' } });
});
afterAll(() => c?.close());

const NOTIFICATIONS = 'carebook.notifications.v1.NotificationService';
const scrape = () => scrapeMetrics(metricsPort);
const growth = (before: MetricSample[], after: MetricSample[], name: string, labels: Record<string, string> = {}) =>
  metricValue(after, name, labels) - metricValue(before, name, labels);
const list = (fields: Partial<ListNotificationsRequest>) => c.notifications.listNotifications({ appointmentId: '', patientId: '', pageSize: 0, pageToken: '', ...fields });
const bookAhead = async () => book(c, await newPatient(c), (await slotsAhead(c, 3 * 3_600_000))[0]);

describe('gRPC metrics', () => {
  it('count every ListNotifications call by code', async () => {
    const patient = await newPatient(c);
    const before = await scrape();
    await list({ patientId: patient.id });
    await list({ patientId: patient.id });
    await expectGrpcError(list({ patientId: 'not-a-uuid' }), status.INVALID_ARGUMENT);
    const after = await scrape();
    const method = { grpc_service: NOTIFICATIONS, grpc_method: 'ListNotifications', grpc_type: 'unary' };
    expect(growth(before, after, 'grpc_server_started_total', method)).toBe(3);
    expect(growth(before, after, 'grpc_server_handled_total', { ...method, grpc_code: 'OK' })).toBe(2);
    expect(growth(before, after, 'grpc_server_handled_total', { ...method, grpc_code: 'InvalidArgument' })).toBe(1);
    expect(growth(before, after, 'grpc_server_handling_seconds_count', method)).toBe(3);
    expect(after.find((s) => s.name === 'grpc_server_handled_total')?.labels.service).toBe('notifications');
  });

  it("count the send path's calls to booking and catalog: one batch read of each for a message's two channels", async () => {
    const before = await scrape();
    const appointment = await bookAhead();
    await settledNotifications(c, appointment.id, (rows) => rows.filter((r) => r.kind === 'confirmation' && r.status === 'sent').length === 2);
    const after = await scrape();
    const calls = (service: string, method: string) =>
      growth(before, after, 'grpc_client_handled_total', { grpc_service: `carebook.${service}`, grpc_method: method, grpc_type: 'unary', grpc_code: 'OK' });
    expect(calls('booking.v1.BookingService', 'BatchGetAppointments')).toBe(1);
    expect(calls('booking.v1.BookingService', 'BatchGetPatients')).toBe(1);
    // Doctors and clinics are kept for NOTIFY_PLACE_CACHE_TTL_MS: asked at most once.
    expect(calls('catalog.v1.CatalogService', 'BatchGetDoctors')).toBeLessThanOrEqual(1);
    expect(calls('catalog.v1.CatalogService', 'GetClinic')).toBeLessThanOrEqual(1);
    expect(metricValue(after, 'carebook_dependency_up', { dependency: 'booking' })).toBe(1);
    expect(metricValue(after, 'carebook_dependency_up', { dependency: 'catalog' })).toBe(1);
  });
});

describe('feed gauges', () => {
  it('show the cursor, and the lag while events wait to be applied', async () => {
    const before = await scrape();
    expect(metricValue(before, 'carebook_notifications_feed_lag_events')).toBe(0);
    const cursor = metricValue(before, 'carebook_notifications_feed_cursor_position');
    // The test holds the cursor's row lock: the consumer reads the events but cannot apply them.
    const holder = await c.sql.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT position FROM feed_cursor FOR UPDATE');
      await bookAhead();
      await bookAhead();
      const lagging = await pollUntil('a lag of two events', async () => {
        const samples = await scrape();
        return metricValue(samples, 'carebook_notifications_feed_lag_events') === 2 ? samples : undefined;
      });
      expect(metricValue(lagging, 'carebook_notifications_feed_cursor_position')).toBe(cursor);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    const caughtUp = await pollUntil('the lag gone', async () => {
      const samples = await scrape();
      return metricValue(samples, 'carebook_notifications_feed_lag_events') === 0 ? samples : undefined;
    });
    expect(metricValue(caughtUp, 'carebook_notifications_feed_cursor_position')).toBe(cursor + 2);
  });
});

describe('due and overdue gauges', () => {
  it('count a message the mail server keeps from going out as due, as overdue once over a minute late, and neither once sent', async () => {
    // The earlier tests' confirmations are out first: these gauges count the whole table.
    await pollUntil('nothing due', async () => (metricValue(await scrape(), 'carebook_notifications_due') === 0 ? true : undefined));
    await c.smtp.stop();
    const appointment = await bookAhead();
    const stuck = await settledNotifications(c, appointment.id, (rows) => rows.some((r) => r.kind === 'confirmation' && r.channel === 'email' && r.attempts > 0));
    const email = rowOf(stuck, 'confirmation', 'email');
    expect(email.status).toBe('scheduled');
    // The e-mail confirmation is due; the SMS went out; the reminders are an hour off.
    const waiting = await scrape();
    expect(metricValue(waiting, 'carebook_notifications_due')).toBe(1);
    expect(metricValue(waiting, 'carebook_notifications_overdue')).toBe(0);

    // As if it had waited two minutes: its time moved back (a test does not wait that long).
    await c.sql.query(`UPDATE notification SET scheduled_time = scheduled_time - interval '2 minutes' WHERE id = $1`, [email.id]);
    const late = await scrape();
    expect(metricValue(late, 'carebook_notifications_due')).toBe(1);
    expect(metricValue(late, 'carebook_notifications_overdue')).toBe(1);

    await c.smtp.start();
    await settledNotifications(c, appointment.id, (rows) => rows.some((r) => r.kind === 'confirmation' && r.channel === 'email' && r.status === 'sent'));
    const sent = await scrape();
    expect(metricValue(sent, 'carebook_notifications_due')).toBe(0);
    expect(metricValue(sent, 'carebook_notifications_overdue')).toBe(0);
  });
});
