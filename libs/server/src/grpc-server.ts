import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { descriptorRegistry, HEALTH_SERVICE_NAME, reflectionPackageDefinition } from '@carebook/proto/descriptors';
import type { FileRegistry } from '@bufbuild/protobuf';
import type { Logger } from 'pino';
import { toServiceError } from './grpc-errors';
import { addReflection } from './reflection';
import { DomainError } from './errors';
import { internalCredential, internalCredentialError, type CallerCredential } from './internal-credential';
import { outageLog, type OutageLog } from './outage-log';
import { isDatabaseUnavailable } from './postgres-errors';
import { checkedDeserializer, RejectedRequest } from './request-decoding';
import { startServerSpan, withContext } from './tracing-spans';

/** What every handler gets besides its request. */
export interface RequestContext {
  /** The call's correlation id: the caller's x-request-id, or a new UUID; it ties the logs of every service a call passes through. */
  correlationId: string;
  log: Logger;
  /** The caller's deadline, if it set one; outgoing calls must finish before it. */
  deadline: Date | undefined;
  /** True when the call carries the internal credential (internal-credential.ts). */
  internalCaller: boolean;
}

type UnaryMethod<Req, Res> = grpc.MethodDefinition<Req, Res> & { requestStream: false; responseStream: false };

/** Promise-returning handlers for every method of a ts-proto grpc-js service definition. */
export type Handlers<S> = {
  [K in keyof S]: S[K] extends UnaryMethod<infer Req, infer Res> ? (request: Req, ctx: RequestContext) => Promise<Res> : never;
};

/** A service to serve: its definition, full proto name and handlers. */
export interface ServiceRegistration<S extends grpc.ServiceDefinition = grpc.ServiceDefinition> {
  name: string;
  definition: S;
  handlers: Handlers<S>;
  /** Methods (handler keys) only callers with the internal credential may call. */
  internalMethods: string[];
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
  internalToken?: string;
}

/** The largest reply a server sends, in bytes (grpc-js's own default, set explicitly). */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;

/** A started server. */
export interface CarebookGrpcServer {
  port: number;
  /** Refuses new calls, waits for in-flight ones up to the grace period, then stops. */
  shutdown(): Promise<void>;
}

// The correlation id travels in x-request-id, the header proxies and tracing
// tools already pass on; it is not BookAppointment's request_id, which is an
// idempotency key.
const CORRELATION_ID_HEADER = 'x-request-id';
const MAX_CORRELATION_ID_LENGTH = 128;

/**
 * Pairs a service definition with handlers of matching types; the server
 * wraps each one with correlation ids, logs and error mapping. `internalMethods`
 * need the internal credential.
 */
export function registration<S extends grpc.ServiceDefinition>(
  name: string,
  definition: S,
  handlers: Handlers<S>,
  internalMethods: (keyof S & string)[] = [],
): ServiceRegistration {
  return { name, definition, handlers, internalMethods } as unknown as ServiceRegistration;
}

/** What every wrapped method shares: how to check credentials, and the log of database outages. */
interface CallEnvironment {
  options: GrpcServerOptions;
  credentialOf: (metadata: grpc.Metadata) => CallerCredential;
  database: OutageLog;
}

function wrapUnary(
  method: string,
  internal: boolean,
  handler: (request: unknown, ctx: RequestContext) => Promise<unknown>,
  { options, credentialOf, database }: CallEnvironment,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const incoming = call.metadata.get(CORRELATION_ID_HEADER)[0];
    const correlationId =
      typeof incoming === 'string' && incoming.length > 0 && incoming.length <= MAX_CORRELATION_ID_LENGTH ? incoming : randomUUID();
    const header = new grpc.Metadata();
    header.set(CORRELATION_ID_HEADER, correlationId);
    call.sendMetadata(header);

    // The call's SERVER span, continuing the caller's trace if it sent one;
    // the handler runs under it, so database and outgoing calls are its children.
    const span = startServerSpan(method, call.metadata);
    const log = options.log.child(span.traceId ? { correlationId, method, traceId: span.traceId } : { correlationId, method });
    const deadline = call.getDeadline();
    const credential = credentialOf(call.metadata);
    const ctx: RequestContext = { correlationId, log, deadline: deadline === Infinity ? undefined : new Date(deadline), internalCaller: credential === 'internal' };
    const started = performance.now();
    const run = async () => {
      // An outsider is refused first, whatever it sent, and learns nothing more.
      if (internal && credential !== 'internal') throw internalCredentialError(credential);
      if (call.request instanceof RejectedRequest) {
        // Logged like any refusal, with why the bytes did not decode.
        log.warn({ err: call.request.error.cause, reason: call.request.error.reason }, 'request refused while decoding');
        throw call.request.error;
      }
      return handler(call.request, ctx);
    };
    withContext(span.context, run).then(
      (response) => {
        database.succeeded();
        log.debug({ ms: Math.round(performance.now() - started) }, 'call ok');
        span.end(grpc.status.OK);
        callback(null, response);
      },
      (err: unknown) => {
        const error = toServiceError(err, options.errorDomain);
        const ms = Math.round(performance.now() - started);
        if (err instanceof DomainError) log.info({ ms, code: error.code, reason: err.reason }, 'call refused');
        else if (isDatabaseUnavailable(err)) database.failed(err);
        else log.error({ ms, err }, 'call failed');
        span.end(error.code);
        callback(error);
      },
    );
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

/**
 * Starts a gRPC server with the given services plus grpc.health.v1 (SERVING
 * only while `checkReady` succeeds) and server reflection v1 and v1alpha.
 */
export async function startGrpcServer(options: GrpcServerOptions, host: string, port: number): Promise<CarebookGrpcServer> {
  const server = new grpc.Server({
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': options.maxRequestBytes,
    'grpc.max_send_message_length': MAX_REPLY_BYTES,
  });
  const registry = descriptorRegistry();
  const environment: CallEnvironment = {
    options,
    credentialOf: options.internalToken ? internalCredential(options.internalToken) : () => 'none',
    database: outageLog(options.log, 'database'),
  };
  for (const service of options.services) {
    const definition = withCheckedRequests(service.definition, service.name, registry);
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [key, handler] of Object.entries(service.handlers)) {
      implementation[key] = wrapUnary(definition[key].path, service.internalMethods.includes(key), handler as never, environment);
    }
    server.addService(definition, implementation);
  }

  const names = options.services.map((s) => s.name);
  const health = new HealthImplementation(Object.fromEntries(['', ...names].map((n) => [n, 'NOT_SERVING'])));
  // Health/Watch streams never end by themselves: left open they would hold
  // every graceful shutdown for its whole grace period. They are tracked so
  // shutdown can end them once it has told them NOT_SERVING.
  const watches = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  health.addToServer({
    addService: (definition, implementation) =>
      server.addService(definition as grpc.ServiceDefinition, {
        ...implementation,
        watch: (call: grpc.ServerWritableStream<unknown, unknown>) => {
          watches.add(call);
          call.on('cancelled', () => watches.delete(call));
          (implementation.watch as grpc.handleServerStreamingCall<unknown, unknown>)(call);
        },
      }),
  });
  addReflection(server, reflectionPackageDefinition(), [...names, HEALTH_SERVICE_NAME]);

  const boundPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );

  let shuttingDown = false;
  let current: ServingStatus = 'NOT_SERVING';
  const setHealth = (status: ServingStatus) => {
    if (status === current) return;
    current = status;
    for (const name of ['', ...names]) health.setStatus(name, status);
    options.log.info({ status }, 'health changed');
  };
  const checkReadiness = async () => {
    if (shuttingDown) return;
    const ready = await options.checkReady().then(
      () => {
        environment.database.succeeded();
        return true;
      },
      (err) => {
        environment.database.failed(err);
        return false;
      },
    );
    if (!shuttingDown) setHealth(ready ? 'SERVING' : 'NOT_SERVING');
  };
  await checkReadiness();
  const readinessTimer = setInterval(checkReadiness, options.readinessIntervalMs ?? 5000);
  readinessTimer.unref();

  options.log.info({ host, port: boundPort, services: names }, 'grpc server listening');

  return {
    port: boundPort,
    async shutdown() {
      if (shuttingDown) return;
      shuttingDown = true;
      clearInterval(readinessTimer);
      setHealth('NOT_SERVING');
      for (const call of watches) call.end();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          options.log.warn({ graceMs: options.shutdownGraceMs }, 'in-flight calls cut off at shutdown');
          server.forceShutdown();
          resolve();
        }, options.shutdownGraceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      options.log.info('grpc server stopped');
    },
  };
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
