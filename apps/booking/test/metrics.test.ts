import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Patient } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { expectGrpcError, metricValue, pollUntil, scrapeMetrics, type MetricSample } from '@carebook/testing';
import { enqueueRelease } from '../src/releases/repo';
import { createClinic, createDoctor, startCatalogUnderTest } from '../../catalog/test/harness';
import { createSchedule as createCatalogSchedule, day, rules, DayOfWeek } from '../../catalog/test/schedule-fixtures';
import { book, createPatient, createSchedule, insertAppointment } from './booking-fixtures';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

// The Prometheus endpoints, scraped over HTTP as Prometheus would: the gRPC
// server and client metrics move by exactly the calls made, under the
// go-grpc-prometheus names and labels, and the domain gauges read the
// databases.

let catalog: Awaited<ReturnType<typeof startCatalogUnderTest>>;
let sys: BookingUnderTest;
let patient: Patient;
let slots: Slot[];

beforeAll(async () => {
  // Started here, not by the booking harness, to run its materialiser on demand.
  catalog = await startCatalogUnderTest();
  sys = await startBookingUnderTest({ catalog });
  patient = await createPatient(sys.client);
  ({ slots } = await createSchedule(sys.catalog.client, 5));
});
afterAll(async () => {
  await sys?.close();
  await catalog?.close();
});

const BOOKING = 'carebook.booking.v1.BookingService';
const CATALOG = 'carebook.catalog.v1.CatalogService';
const bookingMetrics = () => scrapeMetrics(sys.service.metricsPort!);
const catalogMetrics = () => scrapeMetrics(sys.catalog.metricsPort!);

/** How much `name{labels}` grew from `before` to `after`. */
const growth = (before: MetricSample[], after: MetricSample[], name: string, labels: Record<string, string>) =>
  metricValue(after, name, labels) - metricValue(before, name, labels);

describe('gRPC metrics', () => {
  it('count every call the server handled, by service, method, type and code', async () => {
    const before = await bookingMetrics();
    await sys.client.getPatient({ id: patient.id });
    await sys.client.getPatient({ id: patient.id });
    await expectGrpcError(sys.client.getPatient({ id: 'not-a-uuid' }), status.INVALID_ARGUMENT);
    const after = await bookingMetrics();
    const method = { grpc_service: BOOKING, grpc_method: 'GetPatient', grpc_type: 'unary' };
    expect(growth(before, after, 'grpc_server_started_total', method)).toBe(3);
    expect(growth(before, after, 'grpc_server_handled_total', { ...method, grpc_code: 'OK' })).toBe(2);
    expect(growth(before, after, 'grpc_server_handled_total', { ...method, grpc_code: 'InvalidArgument' })).toBe(1);
    expect(growth(before, after, 'grpc_server_handling_seconds_count', method)).toBe(3);
    expect(growth(before, after, 'grpc_server_handling_seconds_bucket', { ...method, le: '+Inf' })).toBe(3);
    expect(after.find((s) => s.name === 'grpc_server_handled_total')?.labels.service).toBe('booking');
  });

  it("count booking's calls to catalog on both sides: grpc_client_* in booking, grpc_server_* in catalog", async () => {
    const [bookingBefore, catalogBefore] = await Promise.all([bookingMetrics(), catalogMetrics()]);
    await book(sys, patient, slots[0]);
    const [bookingAfter, catalogAfter] = await Promise.all([bookingMetrics(), catalogMetrics()]);
    // One catalog call per booking: the claim, which answers with the slot.
    expect(growth(catalogBefore, catalogAfter, 'grpc_server_started_total', { grpc_service: CATALOG })).toBe(1);
    for (const method of ['ClaimSlot']) {
      const labels = { grpc_service: CATALOG, grpc_method: method, grpc_type: 'unary' };
      expect(growth(bookingBefore, bookingAfter, 'grpc_client_started_total', labels), method).toBe(1);
      expect(growth(bookingBefore, bookingAfter, 'grpc_client_handled_total', { ...labels, grpc_code: 'OK' }), method).toBe(1);
      expect(growth(bookingBefore, bookingAfter, 'grpc_client_handling_seconds_count', labels), method).toBe(1);
      expect(growth(catalogBefore, catalogAfter, 'grpc_server_handled_total', { ...labels, grpc_code: 'OK' }), method).toBe(1);
    }
    expect(growth(bookingBefore, bookingAfter, 'grpc_server_handled_total', { grpc_method: 'BookAppointment', grpc_code: 'OK' })).toBe(1);
  });
});

describe('domain and health gauges', () => {
  it("show PENDING appointments and owed releases with the oldest one's age, by the database clock", async () => {
    const before = await bookingMetrics();
    await insertAppointment(sys.sql, { patientId: patient.id, slot: slots[1], ageMs: 90_000 });
    await sys.prisma.$transaction((tx) => enqueueRelease(tx, slots[2].id, '7c9e6679-7425-40de-944b-e07fc1f99a11', 0));
    const after = await bookingMetrics();
    expect(growth(before, after, 'carebook_booking_pending_appointments', {})).toBe(1);
    expect(metricValue(after, 'carebook_booking_pending_oldest_age_seconds')).toBeGreaterThanOrEqual(90);
    expect(growth(before, after, 'carebook_booking_releases_owed', {})).toBe(1);
    expect(metricValue(after, 'carebook_booking_slot_conflicts_open')).toBe(0);
  });

  it("show the event feed's latest position, which a booking moves on by one", async () => {
    await sys.service.sequencer.runOnce();
    const before = await bookingMetrics();
    await sys.client.bookAppointment({ slotId: slots[3].id, patientId: patient.id, requestId: `metrics-feed-${Date.now()}`, reason: '' });
    // runOnce gives way while the background loop holds the sequencer's lock,
    // and that loop's run may not have committed yet: wait for the position.
    const after = await pollUntil('the event to be positioned', async () => {
      await sys.service.sequencer.runOnce();
      const metrics = await bookingMetrics();
      return growth(before, metrics, 'carebook_booking_event_feed_latest_position', {}) > 0 ? metrics : undefined;
    });
    expect(growth(before, after, 'carebook_booking_event_feed_latest_position', {})).toBe(1);
    expect(metricValue(after, 'carebook_booking_event_unpositioned_oldest_age_seconds')).toBe(0);
  });

  it("show how far booking's own feed consumer trails the feed: behind while its cursor is held, 0 once it has applied the feed", async () => {
    const LAG = 'carebook_booking_event_consumer_lag_events';
    const rooms = { consumer: 'consultations' };
    // Holding the recorder's cursor row keeps the cursor where it is.
    const holder = await sys.sql.connect();
    try {
      await holder.query('BEGIN');
      const { rows } = await holder.query("SELECT position::int FROM appointment_event_cursor WHERE consumer = 'consultations' FOR UPDATE");
      const before = await bookingMetrics();
      expect(metricValue(before, LAG, rooms)).toBe(metricValue(before, 'carebook_booking_event_feed_latest_position') - rows[0].position);
      await book(sys, patient, slots[4]);
      const behind = await pollUntil('the booking to be positioned', async () => {
        await sys.service.sequencer.runOnce();
        const metrics = await bookingMetrics();
        return growth(before, metrics, 'carebook_booking_event_feed_latest_position', {}) > 0 ? metrics : undefined;
      });
      expect(growth(before, behind, LAG, rooms)).toBe(1);
      expect(metricValue(behind, LAG, rooms)).toBeGreaterThan(0);
      await holder.query('ROLLBACK');
    } finally {
      holder.release();
    }
    // The recorder's loop, woken while the row was held, found it locked and
    // waits for its next interval: apply the feed here.
    const caughtUp = await pollUntil('the recorder to apply the feed', async () => {
      await sys.service.consultations.recordFromFeed();
      const metrics = await bookingMetrics();
      return metricValue(metrics, LAG, rooms) === 0 ? metrics : undefined;
    });
    expect(caughtUp.filter((s) => s.name === LAG).map((s) => s.labels.consumer)).toEqual(['consultations']);
  });

  it('show the materialisation lag of a schedule whose slots stop short of the horizon, and 0 once materialised', async () => {
    const LAG = 'carebook_catalog_materialisation_lag_days';
    const clinic = await createClinic(sys.catalog.client);
    const doctor = await createDoctor(sys.catalog.client, clinic.id);
    const schedule = await createCatalogSchedule(sys.catalog.client, doctor.id, clinic.id, {
      validFrom: day('2026-01-01'),
      rules: rules([DayOfWeek.MONDAY], '09:00', '10:00'),
    });
    expect(metricValue(await catalogMetrics(), LAG)).toBe(0);
    // As if the background loop had not run for five days.
    await sys.catalog.sql.query('UPDATE schedule SET materialised_through = materialised_through - 5 WHERE id = $1', [schedule.id]);
    expect(metricValue(await catalogMetrics(), LAG)).toBe(5);
    expect((await catalog.materialiser.materialiseDue()).map((r) => r.scheduleId)).toEqual([schedule.id]);
    expect(metricValue(await catalogMetrics(), LAG)).toBe(0);
  });

  it("show the pool, the dependencies' reachability, the materialisation lag and Node's process metrics", async () => {
    const [booking, catalog] = await Promise.all([bookingMetrics(), catalogMetrics()]);
    for (const samples of [booking, catalog]) {
      expect(metricValue(samples, 'carebook_db_pool_connections', { state: 'open' })).toBeGreaterThan(0);
      expect(samples.some((s) => s.name === 'carebook_db_pool_waiting_queries')).toBe(true);
      expect(metricValue(samples, 'carebook_dependency_up', { dependency: 'database' })).toBe(1);
      expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
      expect(samples.some((s) => s.name === 'nodejs_heap_size_used_bytes')).toBe(true);
    }
    expect(metricValue(booking, 'carebook_dependency_up', { dependency: 'catalog' })).toBe(1);
    expect(catalog.some((s) => s.name === 'carebook_catalog_materialisation_lag_days')).toBe(true);
    expect(metricValue(catalog, 'carebook_catalog_materialisation_lag_days')).toBe(0);
  });

  it('answers 404 to anything but GET /metrics', async () => {
    expect((await fetch(`http://127.0.0.1:${sys.service.metricsPort}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${sys.service.metricsPort}/metrics`, { method: 'POST' })).status).toBe(404);
  });
});
