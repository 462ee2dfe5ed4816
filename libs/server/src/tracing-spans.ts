// The spans carebook makes, through @opentelemetry/api only. Until
// startTracing (tracing.ts) registers an SDK, the API is a no-op: every span
// here is a shared non-recording one and nothing is propagated.
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import {
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_RPC_METHOD,
  ATTR_RPC_STATUS_CODE,
  ATTR_RPC_SYSTEM_NAME,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
  RPC_SYSTEM_NAME_VALUE_GRPC,
} from '@opentelemetry/semantic-conventions';

const TRACER_NAME = '@carebook/server';

// Looked up on every use, not kept: a tracer taken from one provider would
// outlive that provider's shutdown (tests start and stop tracing).
const tracer = () => trace.getTracer(TRACER_NAME);

/** Reads W3C trace context (traceparent, tracestate) from gRPC metadata. */
const metadataGetter: TextMapGetter<Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get(metadata, key) {
    const values = metadata.get(key).filter((v): v is string => typeof v === 'string');
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  },
};

const metadataSetter: TextMapSetter<Metadata> = { set: (metadata, key, value) => metadata.set(key, value) };

/** 'carebook.catalog.v1.CatalogService/ClaimSlot' of the method path '/carebook.catalog.v1.CatalogService/ClaimSlot'. */
const rpcName = (path: string) => (path.startsWith('/') ? path.slice(1) : path);

const codeName = (code: number): string => GrpcStatus[code] ?? String(code);

// The gRPC codes that are a server's own fault (OpenTelemetry's gRPC
// conventions); the others (NOT_FOUND, FAILED_PRECONDITION …) are the
// caller's, and leave a server span's status unset.
const SERVER_FAULTS = new Set<number>([
  GrpcStatus.UNKNOWN,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.UNIMPLEMENTED,
  GrpcStatus.INTERNAL,
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DATA_LOSS,
]);

/** The gRPC code of a call's failure: a ServiceError's, else UNKNOWN. */
const grpcCodeOf = (err: unknown): number => {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && GrpcStatus[code] !== undefined ? code : GrpcStatus.UNKNOWN;
};

/** Sets a finished RPC span's status code attribute and, for a failure, its error type and status; then ends it. */
function endRpcSpan(span: Span, kind: 'server' | 'client', code: number): void {
  span.setAttribute(ATTR_RPC_STATUS_CODE, codeName(code));
  if (code !== GrpcStatus.OK && (kind === 'client' || SERVER_FAULTS.has(code))) {
    span.setAttribute(ATTR_ERROR_TYPE, codeName(code));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/** A SERVER span of one incoming call and the context to run its handler in. */
export interface ServerCallSpan {
  context: Context;
  /** The trace id, when the span is recorded (for the call's log lines). */
  traceId: string | undefined;
  /** Ends the span with the call's gRPC status code. */
  end(code: number): void;
}

/** Starts the SERVER span of a call to `path`, continuing the trace context the caller sent in `metadata`, if any. */
export function startServerSpan(path: string, metadata: Metadata): ServerCallSpan {
  const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
  const span = tracer().startSpan(
    rpcName(path),
    { kind: SpanKind.SERVER, attributes: { [ATTR_RPC_SYSTEM_NAME]: RPC_SYSTEM_NAME_VALUE_GRPC, [ATTR_RPC_METHOD]: rpcName(path) } },
    parent,
  );
  return {
    context: trace.setSpan(parent, span),
    traceId: span.isRecording() ? span.spanContext().traceId : undefined,
    end: (code) => endRpcSpan(span, 'server', code),
  };
}

/**
 * Runs the outgoing call `run` to `path` inside a CLIENT span, a child of the
 * active span, whose W3C trace context is added to `metadata` first.
 */
export async function tracedClientCall<T>(path: string, metadata: Metadata, run: () => Promise<T>): Promise<T> {
  const span = tracer().startSpan(rpcName(path), {
    kind: SpanKind.CLIENT,
    attributes: { [ATTR_RPC_SYSTEM_NAME]: RPC_SYSTEM_NAME_VALUE_GRPC, [ATTR_RPC_METHOD]: rpcName(path) },
  });
  propagation.inject(trace.setSpan(context.active(), span), metadata, metadataSetter);
  try {
    const result = await run();
    endRpcSpan(span, 'client', GrpcStatus.OK);
    return result;
  } catch (err) {
    endRpcSpan(span, 'client', grpcCodeOf(err));
    throw err;
  }
}

// db.system and db.statement: the names this project's dashboards and the
// brief ask for (semantic conventions before 1.26); db.system.name is the
// stable one. db.statement carries the prepared statement's name, never its
// values: its text is in the code, under that name.
const DB_SYSTEM = 'db.system';
const DB_STATEMENT = 'db.statement';

/** Runs the database call `run` of the statement called `statementName` inside a CLIENT span, a child of the active span. */
export async function tracedQuery<T>(statementName: string, run: () => Promise<T>): Promise<T> {
  const attributes: Attributes = {
    [DB_SYSTEM]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
    [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
    [DB_STATEMENT]: statementName,
  };
  const span = tracer().startSpan(statementName, { kind: SpanKind.CLIENT, attributes });
  try {
    return await run();
  } catch (err) {
    // A PostgreSQL error's SQLSTATE, e.g. 23P01; never its message, which may quote row data.
    const sqlState = (err as { code?: unknown } | undefined)?.code;
    if (typeof sqlState === 'string') span.setAttribute(ATTR_DB_RESPONSE_STATUS_CODE, sqlState);
    span.setAttribute(ATTR_ERROR_TYPE, typeof sqlState === 'string' ? sqlState : err instanceof Error ? err.name : 'unknown');
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}

/** Runs `fn` with `ctx` as the active context (the handler of a call, under its server span). */
export const withContext = <T>(ctx: Context, fn: () => T): T => context.with(ctx, fn);
