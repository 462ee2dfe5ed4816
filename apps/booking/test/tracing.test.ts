import { Metadata } from '@grpc/grpc-js';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Patient } from '@carebook/proto/booking';
import type { Slot } from '@carebook/proto/catalog';
import { startTracing, type Tracing } from '@carebook/server';
import { pollUntil } from '@carebook/testing';
import { createPatient, createSchedule, newRequestId, type Schedule } from './booking-fixtures';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

// Both services run in this process, so one tracer provider, exporting to
// memory, sees the spans of both. Tracing is started for this file only and
// shut down after it (which unregisters the SDK again).
const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let sys: BookingUnderTest;
let schedule: Schedule;
let patient: Patient;
let used = 0;

beforeAll(async () => {
  tracing = await startTracing({ serviceName: 'carebook-test', exporter });
  sys = await startBookingUnderTest();
  schedule = await createSchedule(sys.catalog.client, 6);
  patient = await createPatient(sys.client);
});
afterAll(async () => {
  await sys?.close();
  await tracing?.shutdown();
});

const freshSlot = (): Slot => schedule.slots[used++];

const BOOK = 'carebook.booking.v1.BookingService/BookAppointment';
const CLAIM = 'carebook.catalog.v1.CatalogService/ClaimSlot';

/** The finished spans of trace `traceId`, once the one named `last` (the last to end) is among them. */
async function traceOf(traceId: string, last = BOOK): Promise<ReadableSpan[]> {
  return pollUntil(`trace ${traceId}`, async () => {
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    return spans.some((s) => s.name === last) ? spans : undefined;
  });
}

/** The one span of `spans` named `name` of kind `kind`. */
function only(spans: ReadableSpan[], name: string, kind: SpanKind): ReadableSpan {
  const found = spans.filter((s) => s.name === name && s.kind === kind);
  expect(found, `${SpanKind[kind]} spans named ${name}`).toHaveLength(1);
  return found[0];
}

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('tracing', () => {
  it('makes one trace of a booking: booking server span → client span → catalog ClaimSlot server span → the claim UPDATE', async () => {
    const slot = freshSlot();
    exporter.reset();
    await sys.client.bookAppointment({ slotId: slot.id, patientId: patient.id, requestId: newRequestId(), reason: '' });

    const booked = exporter.getFinishedSpans().find((s) => s.name === BOOK && s.kind === SpanKind.SERVER);
    expect(booked, 'the BookAppointment server span').toBeDefined();
    const spans = await traceOf(booked!.spanContext().traceId);

    // No traceparent from the test's client: the booking server span is the root.
    const server = only(spans, BOOK, SpanKind.SERVER);
    expect(server.parentSpanContext).toBeUndefined();
    expect(server.attributes).toMatchObject({ 'rpc.system.name': 'grpc', 'rpc.method': BOOK, 'rpc.status_code': 'OK' });

    const client = only(spans, CLAIM, SpanKind.CLIENT);
    expect(parentOf(client)).toBe(server.spanContext().spanId);
    expect(client.attributes).toMatchObject({ 'rpc.system.name': 'grpc', 'rpc.method': CLAIM, 'rpc.status_code': 'OK' });

    const catalogServer = only(spans, CLAIM, SpanKind.SERVER);
    expect(parentOf(catalogServer)).toBe(client.spanContext().spanId);
    expect(catalogServer.parentSpanContext?.isRemote).toBe(true);

    const claimUpdate = only(spans, 'slot_claim', SpanKind.CLIENT);
    expect(parentOf(claimUpdate)).toBe(catalogServer.spanContext().spanId);
    expect(claimUpdate.attributes).toEqual({ 'db.system': 'postgresql', 'db.system.name': 'postgresql', 'db.statement': 'slot_claim' });

    // Every span of the call is in this one trace, and none carries a parameter value.
    for (const span of spans) {
      expect(span.spanContext().traceId).toBe(server.spanContext().traceId);
      expect(JSON.stringify(span.attributes)).not.toContain(slot.id);
      expect(JSON.stringify(span.attributes)).not.toContain(patient.id);
    }
    // The claim happens inside the booking: each child's time lies within its
    // parent's. The SDK anchors every span to Date.now() when it starts (whole
    // milliseconds) and times it from there with performance.now(), so two
    // spans' times may sit up to a millisecond apart even in one process;
    // each pair gets that slack, and the pair across the process boundary a
    // few milliseconds.
    const nanos = ([seconds, ns]: [number, number]) => BigInt(seconds) * 1_000_000_000n + BigInt(ns);
    for (const [outer, inner, slackNs] of [[server, client, 2_000_000n], [client, catalogServer, 5_000_000n], [catalogServer, claimUpdate, 2_000_000n]] as const) {
      expect(nanos(inner.startTime) + slackNs >= nanos(outer.startTime), `${inner.name} starts within ${outer.name}`).toBe(true);
      expect(nanos(inner.endTime) <= nanos(outer.endTime) + slackNs, `${inner.name} ends within ${outer.name}`).toBe(true);
    }
  });

  it("continues a caller's trace: the server span's parent is the caller's span, and catalog's spans join the same trace", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpanId = '00f067aa0ba902b7';
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${traceId}-${callerSpanId}-01`);
    metadata.set('tracestate', 'vendor=opaque');
    await sys.client.bookAppointment({ slotId: freshSlot().id, patientId: patient.id, requestId: newRequestId(), reason: '' }, { metadata });

    const spans = await traceOf(traceId);
    const server = only(spans, BOOK, SpanKind.SERVER);
    expect(server.parentSpanContext).toMatchObject({ traceId, spanId: callerSpanId, isRemote: true });
    expect(server.spanContext().traceState?.get('vendor')).toBe('opaque');
    expect(parentOf(only(spans, CLAIM, SpanKind.SERVER))).toBe(only(spans, CLAIM, SpanKind.CLIENT).spanContext().spanId);
    expect(spans.some((s) => s.name === 'slot_claim')).toBe(true);
  });

  it("gives Prisma's queries spans under the call's span: GetPatient's and GetAppointment's operation and SQL, without parameter values", async () => {
    const { appointment } = await sys.client.bookAppointment({ slotId: freshSlot().id, patientId: patient.id, requestId: newRequestId(), reason: '' });
    for (const [method, call, model] of [
      ['GetPatient', () => sys.client.getPatient({ id: patient.id }), 'Patient'],
      ['GetAppointment', () => sys.client.getAppointment({ id: appointment!.id }), 'Appointment'],
    ] as const) {
      exporter.reset();
      await call();
      const name = `carebook.booking.v1.BookingService/${method}`;
      const server = await pollUntil(`the ${method} span`, async () => exporter.getFinishedSpans().find((s) => s.name === name && s.kind === SpanKind.SERVER));
      const spans = await traceOf(server.spanContext().traceId, name);
      const operations = spans.filter((s) => s.name === 'prisma:client:operation' && s.attributes.model === model);
      expect(operations.length, `${method}'s Prisma operations on ${model}`).toBeGreaterThan(0);
      for (const operation of operations) {
        expect(parentOf(operation)).toBe(server.spanContext().spanId);
        const queries = spans.filter((s) => s.name === 'prisma:client:db_query' && parentOf(s) === operation.spanContext().spanId);
        expect(queries.length, 'its SQL').toBeGreaterThan(0);
        for (const query of queries) {
          expect(query.kind).toBe(SpanKind.CLIENT);
          expect(query.attributes['db.system.name']).toBe('postgresql');
          expect(query.attributes['db.query.text']).toMatch(/^SELECT .* WHERE .*\$1/s);
        }
      }
      // The SQL's text, never its values; and nothing of the client's own work between call and SQL.
      expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain(patient.id);
      expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain(appointment!.id);
      expect(spans.filter((s) => s.name === 'prisma:client:serialize' || s.name === 'prisma:client:compile')).toEqual([]);
    }
  });

  it("leaves background loops' Prisma queries untraced: the sequencer's polls start no trace", async () => {
    exporter.reset();
    await sys.service.sequencer.runOnce();
    await sys.service.pruneEvents();
    expect(exporter.getFinishedSpans().filter((s) => s.name.startsWith('prisma:'))).toEqual([]);
  });

  it("follows a caller's decision not to sample: nothing of that trace is recorded", async () => {
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4737';
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${traceId}-00f067aa0ba902b8-00`);
    const before = exporter.getFinishedSpans().length;
    const { appointment } = await sys.client.bookAppointment(
      { slotId: freshSlot().id, patientId: patient.id, requestId: newRequestId(), reason: '' },
      { metadata },
    );
    expect(appointment?.id).toBeDefined();
    // A sampled call afterwards is recorded: by the time its spans are in, the unsampled call's would be too.
    await sys.client.bookAppointment({ slotId: freshSlot().id, patientId: patient.id, requestId: newRequestId(), reason: '' });
    await pollUntil('the next booking traced', async () => (exporter.getFinishedSpans().slice(before).some((s) => s.name === BOOK) ? true : undefined));
    expect(exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId)).toEqual([]);
  });
});
