import { Metadata } from '@grpc/grpc-js';
import { context } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import { startTracing, tracingConfigSpec, tracingOptions } from './tracing';
import { startServerSpan, tracedClientCall, tracedQuery } from './tracing-spans';

/** The metadata an outgoing call would carry, made under the server span of an incoming call with `incoming`. */
async function outgoingMetadata(incoming: Metadata): Promise<Metadata> {
  const outgoing = new Metadata();
  const span = startServerSpan('/test.v1.TestService/Call', incoming);
  await context.with(span.context, () => tracedClientCall('/test.v1.Other/Call', outgoing, async () => undefined));
  span.end(0);
  return outgoing;
}

const sampledParent = () => {
  const m = new Metadata();
  m.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  return m;
};

describe('startTracing', () => {
  it('is off unless OTEL_TRACES_EXPORTER names an exporter, or when OTEL_SDK_DISABLED=true', () => {
    const options = (env: NodeJS.ProcessEnv) => tracingOptions(loadConfig(tracingConfigSpec, env), 'catalog').exporter;
    expect(options({})).toBe('none');
    expect(options({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe('otlp');
    expect(options({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' })).toBe('none');
    expect(() => loadConfig(tracingConfigSpec, { OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER must be one of none, otlp, console/);
    // The SDK would sample everything, silently, on a sampler it does not know.
    expect(() => loadConfig(tracingConfigSpec, { OTEL_TRACES_SAMPLER: 'traceidratio_typo' })).toThrow(/OTEL_TRACES_SAMPLER must be one of always_on/);
    expect(() => loadConfig(tracingConfigSpec, { OTEL_TRACES_SAMPLER_ARG: '7' })).toThrow(/OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/);
    expect(loadConfig(tracingConfigSpec, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' })).toMatchObject({ OTEL_TRACES_SAMPLER_ARG: 0.1 });
    expect(() => loadConfig(tracingConfigSpec, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
  });

  it('off, records nothing and sends no trace context', async () => {
    const tracing = await startTracing({ serviceName: 'test', exporter: 'none' });
    expect(tracing.enabled).toBe(false);
    expect(startServerSpan('/test.v1.TestService/Call', sampledParent()).traceId).toBeUndefined();
    expect((await outgoingMetadata(sampledParent())).get('traceparent')).toEqual([]);
    await tracing.shutdown();
  });

  it('on, continues the incoming trace into outgoing calls and database spans; refuses a second start; off again after shutdown', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = await startTracing({ serviceName: 'test', exporter });
    try {
      await expect(startTracing({ serviceName: 'again', exporter: new InMemorySpanExporter() })).rejects.toThrow(/already started/);
      const [traceparent] = (await outgoingMetadata(sampledParent())).get('traceparent');
      expect(traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
      await expect(tracedQuery('failing_statement', () => Promise.reject(Object.assign(new Error('boom'), { code: '23505' })))).rejects.toThrow('boom');
      const failed = exporter.getFinishedSpans().find((s) => s.name === 'failing_statement');
      expect(failed?.attributes).toMatchObject({ 'db.statement': 'failing_statement', 'db.response.status_code': '23505', 'error.type': '23505' });
      expect(failed?.resource.attributes['service.name']).toBe('test');
    } finally {
      await tracing.shutdown();
    }
    expect((await outgoingMetadata(sampledParent())).get('traceparent')).toEqual([]);
  });
});
