import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '@carebook/server';
import { pollUntil } from '@carebook/testing';
import { createPatient, createSchedule } from '../../booking/test/booking-fixtures';
import { ATTR_NOTIFICATION_IDS, ATTR_SEND_OUTCOMES } from '../src/delivery/send-span';
import { SEND_TASK } from '../src/notifications/statements';
import { startNotificationsInProcess, type NotificationsInProcess } from './in-process';

// catalog, booking and notifications run in this process (in-process.ts), so
// one tracer provider, exporting to memory, sees the spans of all three.
// Tracing is started for this file only and shut down after it.

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let sys: NotificationsInProcess;

beforeAll(async () => {
  tracing = await startTracing({ serviceName: 'carebook-test', exporter });
  // Reminders an hour before slots three hours ahead: only the confirmations go out here.
  sys = await startNotificationsInProcess([3_600_000]);
});
afterAll(async () => {
  await sys?.close();
  await tracing?.shutdown();
});

const BOOKING = 'carebook.booking.v1.BookingService';
const CATALOG = 'carebook.catalog.v1.CatalogService';
const LOOKUPS = [`${BOOKING}/BatchGetAppointments`, `${BOOKING}/BatchGetPatients`, `${CATALOG}/BatchGetDoctors`, `${CATALOG}/GetClinic`];

/** The one span of `spans` named `name` of kind `kind`. */
function only(spans: ReadableSpan[], name: string, kind: SpanKind): ReadableSpan {
  const found = spans.filter((s) => s.name === name && s.kind === kind);
  expect(found, `${SpanKind[kind]} spans named ${name}`).toHaveLength(1);
  return found[0];
}

describe('tracing', () => {
  it("makes each send job (one message, on every channel) the root of a trace: its calls, one of each for all the channels, to booking and catalog carry the trace context, and their server spans join it", async () => {
    const { slots } = await createSchedule(sys.booking.catalog.client, 1, 3);
    const patient = await createPatient(sys.booking.client, { email: `trace.${randomUUID().slice(0, 8)}@example.org` });
    const { appointment } = await sys.booking.client.bookAppointment({ slotId: slots[0].id, patientId: patient.id, requestId: randomUUID(), reason: '' });
    const sent = await pollUntil('both confirmations sent', async () => {
      const { rows } = await sys.sql.query<{ id: string }>(`SELECT id::text FROM notification WHERE appointment_id = $1 AND kind = 'confirmation' AND status = 'sent'`, [appointment!.id]);
      return rows.length === 2 ? rows.map((r) => r.id) : undefined;
    }, 20_000);

    // One job sends the message on both channels: its span ends last, so once it is in, so are its children.
    const job = await pollUntil("the confirmation's job span", async () =>
      exporter.getFinishedSpans().find((s) => s.name === SEND_TASK && sent.every((id) => (s.attributes[ATTR_NOTIFICATION_IDS] as string[] | undefined)?.includes(id))),
    );
    expect(job.kind).toBe(SpanKind.CONSUMER);
    expect(job.parentSpanContext, 'the job span is a root').toBeUndefined();
    expect(job.attributes[ATTR_SEND_OUTCOMES]).toEqual(['sent', 'sent']);
    const trace = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === job.spanContext().traceId);

    // Each lookup once for both channels: batch reads (only() asserts there is exactly one).
    for (const method of LOOKUPS) {
      const client = only(trace, method, SpanKind.CLIENT);
      expect(client.parentSpanContext?.spanId, `${method} is a child of the job`).toBe(job.spanContext().spanId);
      expect(client.attributes).toMatchObject({ 'rpc.system.name': 'grpc', 'rpc.method': method, 'rpc.status_code': 'OK' });
      // The server's span continues the context the call carried in its metadata (traceparent).
      const server = only(trace, method, SpanKind.SERVER);
      expect(server.parentSpanContext).toMatchObject({ spanId: client.spanContext().spanId, isRemote: true });
    }
    // Nothing of the patient in any span of the trace.
    for (const span of trace) {
      expect(JSON.stringify(span.attributes)).not.toContain(patient.email);
      expect(JSON.stringify(span.attributes)).not.toContain('1234567');
    }
  });
});
