// Spans of Prisma's queries, through @prisma/instrumentation, which only sets
// the global tracing helper that Prisma 7's client reads (no require hooks).
// Its spans are kept to work that already has a span: a call's handler, or a
// send job. A background loop's queries (the sequencer polls every 20 ms)
// would otherwise each start a trace of their own.
import {
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';

/** Prisma's spans left out: the client's own work between a call and its SQL (serialising, compiling the query plan). */
const IGNORED_PRISMA_SPANS = ['prisma:client:serialize', 'prisma:client:compile'];

/** Spans from `tracer` only under a valid parent span; without one, a non-recording span that starts no trace. */
function parentOnlyTracer(tracer: Tracer): Tracer {
  const startSpan = (name: string, options?: SpanOptions, ctx: Context = context.active()): Span =>
    trace.getSpanContext(ctx) && isSpanContextValid(trace.getSpanContext(ctx)!) ? tracer.startSpan(name, options, ctx) : trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  // startActiveSpan(name, fn), (name, options, fn) or (name, options, context, fn), as the API declares.
  const startActiveSpan = (name: string, ...rest: unknown[]) => {
    const fn = rest.pop() as (span: Span) => unknown;
    const [options, ctx = context.active()] = rest as [SpanOptions | undefined, Context | undefined];
    const span = startSpan(name, options, ctx);
    return context.with(trace.setSpan(ctx, span), fn, undefined, span);
  };
  return { startSpan, startActiveSpan } as Tracer;
}

/** `provider`, whose tracers make spans only under a parent span. */
function parentOnly(provider: TracerProvider): TracerProvider {
  return { getTracer: (name, version, options) => parentOnlyTracer(provider.getTracer(name, version, options)) };
}

/** Turns on spans of Prisma's operations and SQL queries (`prisma:client:operation`, `prisma:client:db_query`) under `provider`; returns how to turn them off. */
export async function startPrismaTracing(provider: TracerProvider): Promise<() => void> {
  const { PrismaInstrumentation } = await import('@prisma/instrumentation');
  // Not enabled by the constructor, which would register the global provider before ours.
  const instrumentation = new PrismaInstrumentation({ enabled: false, ignoreSpanTypes: IGNORED_PRISMA_SPANS });
  instrumentation.setTracerProvider(parentOnly(provider));
  instrumentation.enable();
  return () => instrumentation.disable();
}
