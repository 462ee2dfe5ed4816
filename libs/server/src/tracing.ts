// OpenTelemetry tracing of a service process: off unless OTEL_TRACES_EXPORTER
// names an exporter. Off, the SDK is not even loaded; the spans of
// tracing-spans.ts go to the API's no-op implementation.
import { context, diag, DiagLogLevel, propagation, trace } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import { oneOf, optionalRatio } from './config';
import { startPrismaTracing } from './prisma-tracing';

/** The exporters OTEL_TRACES_EXPORTER may name; `none` turns tracing off. */
export const TRACES_EXPORTERS = ['none', 'otlp', 'console'] as const;
export type TracesExporterName = (typeof TRACES_EXPORTERS)[number];

/**
 * The OTEL_* variables a service checks at start-up with its own (spread into
 * its config spec). The rest (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_EXPORTER_OTLP_*ENDPOINT, _HEADERS, _TIMEOUT, _COMPRESSION,
 * OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_*) the SDK reads itself.
 */
export const tracingConfigSpec = {
  OTEL_SDK_DISABLED: oneOf('true: no tracing, whatever OTEL_TRACES_EXPORTER says', ['true', 'false'] as const, 'false'),
  OTEL_TRACES_EXPORTER: oneOf('where spans go: none (tracing off), otlp (OTLP over HTTP, protobuf) or console', TRACES_EXPORTERS, 'none'),
  // The OTLP exporter included speaks http/protobuf only; a collector's gRPC
  // port would get requests it cannot read, so other protocols are refused.
  OTEL_EXPORTER_OTLP_PROTOCOL: oneOf('OTLP protocol; only http/protobuf is supported', ['http/protobuf'] as const, 'http/protobuf'),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: oneOf('OTLP protocol of traces; only http/protobuf is supported', ['http/protobuf'] as const, 'http/protobuf'),
  // The SDK reads the sampler itself, and falls back to sampling everything,
  // silently, on a value it does not know: checked here so a typo stops the
  // process instead.
  OTEL_TRACES_SAMPLER: oneOf(
    'which traces are recorded',
    ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const,
    'parentbased_always_on',
  ),
  OTEL_TRACES_SAMPLER_ARG: optionalRatio('the share of traces the traceidratio samplers record, from 0 to 1'),
};

export interface TracingOptions {
  /** service.name of the spans unless OTEL_SERVICE_NAME (or OTEL_RESOURCE_ATTRIBUTES) says otherwise. */
  serviceName: string;
  /** A named exporter (batched, OTEL_BSP_* apply), or an exporter object (tests) that gets each span as it ends. */
  exporter: TracesExporterName | SpanExporter;
  /** Where the SDK's own complaints (a collector that refuses spans) are logged, at warn level. */
  log?: Logger;
}

/** Tracing as started: whether spans are recorded, and how to flush and stop. */
export interface Tracing {
  readonly enabled: boolean;
  /** Exports what is buffered, then unregisters the SDK: the API is a no-op again. */
  shutdown(): Promise<void>;
}

/** The tracing options of a service's checked configuration. */
export function tracingOptions(
  config: { OTEL_SDK_DISABLED: 'true' | 'false'; OTEL_TRACES_EXPORTER: TracesExporterName },
  serviceName: string,
  log?: Logger,
): TracingOptions {
  return { serviceName, exporter: config.OTEL_SDK_DISABLED === 'true' ? 'none' : config.OTEL_TRACES_EXPORTER, log };
}

const OFF: Tracing = { enabled: false, shutdown: async () => {} };

/**
 * Starts tracing for this process as `options` say: a tracer provider with the
 * exporter, the AsyncLocalStorage context manager (the active span follows
 * async code) and the W3C trace context propagator, registered as the API's
 * globals. With exporter 'none', registers nothing. Throws if tracing is
 * already started (a test that forgot to shut it down).
 */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  if (options.exporter === 'none') return OFF;
  const [{ AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, resources, sdk, { ATTR_SERVICE_NAME }] = await Promise.all([
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  let processor;
  if (typeof options.exporter === 'object') processor = new sdk.SimpleSpanProcessor(options.exporter);
  else if (options.exporter === 'console') processor = new sdk.BatchSpanProcessor(new sdk.ConsoleSpanExporter());
  else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    processor = new sdk.BatchSpanProcessor(new OTLPTraceExporter());
  }
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }))
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win.
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  // The sampler comes from OTEL_TRACES_SAMPLER (default parentbased_always_on).
  const provider = new sdk.BasicTracerProvider({ resource, spanProcessors: [processor] });

  // Registered once per process: a second start would leave the first
  // provider's spans going nowhere, so it is refused, and the first left alone.
  if (!trace.setGlobalTracerProvider(provider)) {
    await provider.shutdown();
    throw new Error('tracing is already started in this process');
  }
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const stopPrismaTracing = await startPrismaTracing(provider);
  if (options.log) {
    const log = options.log.child({ component: 'opentelemetry' });
    const warn = (message: string) => log.warn({ detail: message }, 'tracing problem');
    diag.setLogger({ error: warn, warn, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
  }
  return {
    enabled: true,
    async shutdown() {
      try {
        stopPrismaTracing();
        await provider.shutdown();
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
        diag.disable();
      }
    },
  };
}
