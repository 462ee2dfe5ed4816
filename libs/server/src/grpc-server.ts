import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { descriptorRegistry, HEALTH_SERVICE_NAME, reflectionPackageDefinition } from '@carebook/proto/descriptors';
import type { FileRegistry } from '@bufbuild/protobuf';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { toServiceError } from './grpc-errors';
import { grpcServerMetrics, type CallMeter, type GrpcType } from './grpc-metrics';
import { serveHealth } from './health';
import { addReflection } from './reflection';
import { DomainError, UnavailableError } from './errors';
import { accessTableProblems, callerIdentities, callerNotAllowedError, isAllowed, type AccessRule, type AccessTable, type CallerLists } from './caller-access';
import { internalCredential, internalCredentialError, type CallerCredential } from './internal-credential';
import { outageLog, type OutageLog } from './outage-log';
import { isDatabaseUnavailable } from './postgres-errors';
import { checkedDeserializer, RejectedRequest } from './request-decoding';
import type { ServerTls } from './tls-config';
import { serverChannelOptions, serverCredentials } from './transport';
import { startServerSpan, withContext } from './tracing-spans';

/** What every handler gets besides its request. */
export interface RequestContext {
  /** The call's correlation id: the caller's x-request-id, or a new UUID; it ties the logs of every service a call passes through. */
  correlationId: string;
  log: Logger;
  /** The caller's deadline, if it set one; outgoing calls must finish before it. */
  deadline: Date | undefined;
  /** True when the call carries the internal credential (internal-credential.ts) and, under mutual TLS, comes from an internal caller. */
  internalCaller: boolean;
}

type UnaryMethod<Req, Res> = grpc.MethodDefinition<Req, Res> & { requestStream: false; responseStream: false };
type ServerStreamMethod<Req, Res> = grpc.MethodDefinition<Req, Res> & { requestStream: false; responseStream: true };

/** Where a server-streaming handler sends its messages. */
export interface ResponseStream<Res> {
  /** Resolves once the message is handed to the transport, waiting while the caller is slow to read. */
  write(message: Res): Promise<void>;
  /** Aborts when the caller cancels or the server shuts down; the handler should then return. */
  cancelled: AbortSignal;
}

/** Promise-returning handlers for every method of a ts-proto grpc-js service definition. */
export type Handlers<S> = {
  [K in keyof S]: S[K] extends UnaryMethod<infer Req, infer Res>
    ? (request: Req, ctx: RequestContext) => Promise<Res>
    : S[K] extends ServerStreamMethod<infer Req, infer Res>
      ? (request: Req, ctx: RequestContext, stream: ResponseStream<Res>) => Promise<void>
      : never;
};

/** A service to serve: its definition, full proto name and handlers. */
export interface ServiceRegistration<S extends grpc.ServiceDefinition = grpc.ServiceDefinition> {
  name: string;
  definition: S;
  handlers: Handlers<S>;
  /** Who may call each method (handler key): the service's one table of rules (caller-access.ts). */
  access: Record<string, AccessRule>;
}

export interface GrpcServerOptions {
  log: Logger;
  /** ErrorInfo.domain of this service's errors, e.g. "catalog.carebook.dev". */
  errorDomain: string;
  services: ServiceRegistration[];
  /** Resolves when the service's dependencies (the database) answer. */
  checkReady: () => Promise<void>;
  /** How long in-flight calls may run after shutdown starts. */
  shutdownGraceMs: number;
  /** How often readiness is re-checked for the health service. */
  readinessIntervalMs?: number;
  /** The largest request accepted, in bytes; larger ones get RESOURCE_EXHAUSTED before they are read into memory. */
  maxRequestBytes: number;
  /** The bearer token of internal callers; without one, internal methods refuse every call. */
  internalTokens?: readonly string[];
  /** Where the grpc_server_* metrics are counted; unset: not counted. */
  metrics?: Registry;
  /** TLS, or mutual TLS when it has a CA; plaintext without. */
  tls?: ServerTls;
  /** Under mutual TLS, the identities the 'admin' and 'internal' rules admit; default none. */
  callers?: CallerLists;
}

/** A started server. */
export interface CarebookGrpcServer {
  port: number;
  /** The service's database as its calls and readiness checks found it. */
  database: Pick<OutageLog, 'down'>;
  /** Refuses new calls, waits for in-flight ones up to the grace period, then stops. */
  shutdown(): Promise<void>;
}

// The correlation id travels in x-request-id, the header proxies and tracing
// tools already pass on; it is not BookAppointment's request_id, which is an
// idempotency key.
const CORRELATION_ID_HEADER = 'x-request-id';
const MAX_CORRELATION_ID_LENGTH = 128;

/**
 * Pairs a service definition with handlers of matching types and with its
 * table of access rules; the server wraps each handler with correlation ids,
 * logs, the access rule and error mapping.
 */
export function registration<S extends grpc.ServiceDefinition>(name: string, definition: S, handlers: Handlers<S>, access: AccessTable<S>): ServiceRegistration {
  return { name, definition, handlers, access } as unknown as ServiceRegistration;
}

/** What every wrapped method shares: how to check credentials, the log of database outages, the call metrics. */
interface CallEnvironment {
  options: GrpcServerOptions;
  credentialOf: (metadata: grpc.Metadata) => CallerCredential;
  /** True under mutual TLS: callers are known by their certificate's identity. */
  mutualTls: boolean;
  callers: CallerLists;
  database: OutageLog;
  calls: ReturnType<typeof grpcServerMetrics> | undefined;
  /** How to stop each open server stream at shutdown. */
  streams: Set<() => void>;
}

/**
 * Refuses a call its rule does not admit: an internal method first needs the
 * internal credential (UNAUTHENTICATED), then, under mutual TLS, an 'admin'
 * or 'internal' method needs a listed identity (PERMISSION_DENIED).
 */
function checkAccess(rule: AccessRule, credential: CallerCredential, identities: string[], { mutualTls, callers }: CallEnvironment): void {
  // A credential that is present but wrong is refused on every method: a
  // misconfigured internal caller must fail loudly, not be served as a
  // stranger (with claim ids hidden, say).
  if (credential === 'invalid') throw internalCredentialError('invalid');
  if (rule === 'internal' && credential === 'none') throw internalCredentialError('none');
  if (mutualTls && rule !== 'authenticated' && !isAllowed(rule, identities, callers)) throw callerNotAllowedError(rule, identities);
}

/** The call, seen from what every kind of RPC shares. */
type IncomingCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

/** A call as wrapUnary and wrapServerStream run it: its context, its handler run under access checks and its span, and how it ends. */
interface OpenCall {
  ctx: RequestContext;
  meter: CallMeter | undefined;
  /** Checks the caller and the request, then runs `handler` under the call's span. */
  execute<T>(handler: (request: unknown, ctx: RequestContext) => Promise<T>): Promise<T>;
  succeeded(): void;
  /** Logs and counts the failure; returns the error to send. */
  failed(err: unknown): grpc.ServiceError;
}

function openCall(call: IncomingCall, method: string, rule: AccessRule, type: GrpcType, environment: CallEnvironment): OpenCall {
  const { options, credentialOf, database, mutualTls, callers, calls } = environment;
  const meter = calls?.start(method, type);
  const incoming = call.metadata.get(CORRELATION_ID_HEADER)[0];
  const correlationId = typeof incoming === 'string' && incoming.length > 0 && incoming.length <= MAX_CORRELATION_ID_LENGTH ? incoming : randomUUID();
  const header = new grpc.Metadata();
  header.set(CORRELATION_ID_HEADER, correlationId);
  call.sendMetadata(header);

  const identities = mutualTls ? callerIdentities(call.getAuthContext()) : [];
  // The call's SERVER span, continuing the caller's trace if it sent one;
  // the handler runs under it, so database and outgoing calls are its children.
  const span = startServerSpan(method, call.metadata);
  const log = options.log.child({
    correlationId,
    method,
    ...(mutualTls && { caller: identities.join(', ') }),
    ...(span.traceId && { traceId: span.traceId }),
  });
  const deadline = call.getDeadline();
  const credential = credentialOf(call.metadata);
  const internalCaller = credential === 'internal' && (!mutualTls || isAllowed('internal', identities, callers));
  const ctx: RequestContext = { correlationId, log, deadline: deadline === Infinity ? undefined : new Date(deadline), internalCaller };
  const started = performance.now();
  return {
    ctx,
    meter,
    execute: (handler) =>
      withContext(span.context, async () => {
        // An outsider is refused first, whatever it sent, and learns nothing more.
        checkAccess(rule, credential, identities, environment);
        if (call.request instanceof RejectedRequest) {
          // Logged like any refusal, with why the bytes did not decode.
          log.warn({ err: call.request.error.cause, reason: call.request.error.reason }, 'request refused while decoding');
          throw call.request.error;
        }
        return handler(call.request, ctx);
      }),
    succeeded() {
      database.succeeded();
      log.debug({ ms: Math.round(performance.now() - started) }, 'call ok');
      meter?.end(grpc.status.OK);
      span.end(grpc.status.OK);
    },
    failed(err) {
      const error = toServiceError(err, options.errorDomain);
      const ms = Math.round(performance.now() - started);
      if (err instanceof DomainError) log.info({ ms, code: error.code, reason: err.reason }, 'call refused');
      else if (isDatabaseUnavailable(err)) database.failed(err);
      else log.error({ ms, err }, 'call failed');
      meter?.end(error.code);
      span.end(error.code);
      return error;
    },
  };
}

function wrapUnary(
  method: string,
  rule: AccessRule,
  handler: (request: unknown, ctx: RequestContext) => Promise<unknown>,
  environment: CallEnvironment,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const open = openCall(call, method, rule, 'unary', environment);
    open.execute(handler).then(
      (response) => {
        open.succeeded();
        callback(null, response);
      },
      (err: unknown) => callback(open.failed(err)),
    );
  };
}

/**
 * A server-streaming handler runs until it returns, the caller cancels, or
 * the server shuts down: then its `cancelled` signal aborts, and a stream cut
 * by the shutdown ends with UNAVAILABLE, so the caller reconnects elsewhere.
 */
function wrapServerStream(
  method: string,
  rule: AccessRule,
  handler: (request: unknown, ctx: RequestContext, stream: ResponseStream<unknown>) => Promise<void>,
  environment: CallEnvironment,
): grpc.handleServerStreamingCall<unknown, unknown> {
  return (call) => {
    const open = openCall(call, method, rule, 'server_stream', environment);
    const cancel = new AbortController();
    call.on('cancelled', () => cancel.abort('cancelled'));
    const stopOnShutdown = () => cancel.abort('shutdown');
    environment.streams.add(stopOnShutdown);
    const stream: ResponseStream<unknown> = {
      cancelled: cancel.signal,
      write: (message) =>
        new Promise<void>((resolve) => {
          if (cancel.signal.aborted) return resolve();
          open.meter?.sent();
          if (call.write(message)) return resolve();
          // Backpressure: the next message waits until the transport drained this one, or the call ended.
          const done = () => {
            call.off('drain', done);
            cancel.signal.removeEventListener('abort', done);
            resolve();
          };
          call.on('drain', done);
          cancel.signal.addEventListener('abort', done);
        }),
    };
    open
      .execute((request, ctx) => handler(request, ctx, stream))
      .then(() => {
        if (cancel.signal.reason === 'shutdown') throw new UnavailableError('the server is shutting down; reconnect to go on from the last position received', 'SHUTTING_DOWN');
      })
      .then(
        () => {
          open.succeeded();
          call.end();
        },
        (err: unknown) => call.emit('error', open.failed(err)),
      )
      .finally(() => environment.streams.delete(stopOnShutdown));
  };
}

/** `definition` with each method's request decoded by checkedDeserializer against the service's descriptors. */
function withCheckedRequests(definition: grpc.ServiceDefinition, serviceName: string, registry: FileRegistry): grpc.ServiceDefinition {
  const service = registry.getService(serviceName);
  if (!service) throw new Error(`no descriptor for service ${serviceName}`);
  return Object.fromEntries(
    Object.entries(definition).map(([key, method]) => {
      const desc = service.methods.find((m) => method.path.endsWith(`/${m.name}`));
      if (!desc) throw new Error(`no descriptor for method ${method.path}`);
      return [key, { ...method, requestDeserialize: checkedDeserializer(desc.input, method.requestDeserialize) }];
    }),
  );
}

/** Under mutual TLS, an empty caller list closes its rule's methods to everyone: said once at start-up, since it is legal but rarely meant. */
function warnOfClosedRules(services: ServiceRegistration[], callers: CallerLists, log: Logger): void {
  for (const rule of ['admin', 'internal'] as const) {
    const methods = services.flatMap((s) => Object.keys(s.access).filter((key) => s.access[key] === rule));
    if (methods.length > 0 && callers[rule].length === 0) log.warn({ rule, methods }, 'no caller is listed for these methods: every call to them is refused');
  }
}

/**
 * Starts a gRPC server with the given services plus grpc.health.v1 (SERVING
 * only while `checkReady` succeeds) and server reflection v1 and v1alpha.
 */
export async function startGrpcServer(options: GrpcServerOptions, host: string, port: number): Promise<CarebookGrpcServer> {
  const problems = options.services.flatMap((s) => accessTableProblems(s.definition, s.access));
  if (problems.length > 0) throw new Error(`access rules do not match the services: ${problems.join('; ')}`);
  const server = new grpc.Server(serverChannelOptions(options.maxRequestBytes));
  const environment = callEnvironment(options);
  addServices(server, options.services, environment);
  const names = options.services.map((s) => s.name);
  const health = serveHealth(server, names, options.checkReady, environment.database, options.log);
  addReflection(server, reflectionPackageDefinition(), [...names, HEALTH_SERVICE_NAME]);

  const boundPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, serverCredentials(options.tls), (err, p) => (err ? reject(err) : resolve(p))),
  );
  await health.startReadinessLoop(options.readinessIntervalMs ?? 5000);
  const transport = !options.tls ? 'plaintext' : environment.mutualTls ? 'mutual tls' : 'tls';
  options.log.info({ host, port: boundPort, services: names, transport }, 'grpc server listening');

  let stopping: Promise<void> | undefined;
  return {
    port: boundPort,
    database: environment.database,
    shutdown() {
      stopping ??= (async () => {
        health.stop();
        // Open streams never finish by themselves: they end now, with UNAVAILABLE.
        for (const stop of environment.streams) stop();
        await drain(server, options.shutdownGraceMs, options.log);
        options.log.info('grpc server stopped');
      })();
      return stopping;
    },
  };
}

/** What every wrapped call of the server shares. */
function callEnvironment(options: GrpcServerOptions): CallEnvironment {
  const environment: CallEnvironment = {
    options,
    credentialOf: options.internalTokens?.length ? internalCredential(options.internalTokens) : () => 'none',
    mutualTls: options.tls?.ca !== undefined,
    callers: options.callers ?? { admin: [], internal: [] },
    database: outageLog(options.log, 'database'),
    calls: options.metrics && grpcServerMetrics(options.metrics),
    streams: new Set(),
  };
  if (environment.mutualTls) warnOfClosedRules(options.services, environment.callers, options.log);
  return environment;
}

/** Adds each service with its requests decoded against the descriptors and every handler wrapped (wrapUnary, wrapServerStream). */
function addServices(server: grpc.Server, services: ServiceRegistration[], environment: CallEnvironment): void {
  const registry = descriptorRegistry();
  for (const service of services) {
    const definition = withCheckedRequests(service.definition, service.name, registry);
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [key, handler] of Object.entries(service.handlers)) {
      const { path, responseStream } = definition[key];
      implementation[key] = responseStream
        ? wrapServerStream(path, service.access[key], handler as never, environment)
        : wrapUnary(path, service.access[key], handler as never, environment);
    }
    server.addService(definition, implementation);
  }
}

/** Refuses new calls and lets in-flight ones finish within `graceMs`, then cuts off what is left. */
function drain(server: grpc.Server, graceMs: number, log: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      log.warn({ graceMs }, 'in-flight calls cut off at shutdown');
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

/**
 * Runs `stop` once on the first SIGTERM or SIGINT, then exits 0 (1 if
 * stopping failed). A second signal exits at once.
 */
export function exitOnSignals(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
