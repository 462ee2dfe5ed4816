import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { HEALTH_SERVICE_NAME, reflectionPackageDefinition } from '@carebook/proto/descriptors';
import type { Logger } from 'pino';
import { toServiceError } from './grpc-errors';
import { addReflection } from './reflection';
import { DomainError } from './errors';

/** What every handler gets besides its request. */
export interface RequestContext {
  requestId: string;
  log: Logger;
  /** The caller's deadline, if it set one; outgoing calls must finish before it. */
  deadline: Date | undefined;
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
}

/** A started server. */
export interface CarebookGrpcServer {
  port: number;
  /** Refuses new calls, waits for in-flight ones up to the grace period, then stops. */
  shutdown(): Promise<void>;
}

const REQUEST_ID_HEADER = 'x-request-id';
const MAX_REQUEST_ID_LENGTH = 128;

/** Pairs a service definition with handlers of matching types; the server wraps each one with request ids, logs and error mapping. */
export function registration<S extends grpc.ServiceDefinition>(name: string, definition: S, handlers: Handlers<S>): ServiceRegistration {
  return { name, definition, handlers } as unknown as ServiceRegistration;
}

function wrapUnary(
  method: string,
  handler: (request: unknown, ctx: RequestContext) => Promise<unknown>,
  options: GrpcServerOptions,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const incoming = call.metadata.get(REQUEST_ID_HEADER)[0];
    const requestId =
      typeof incoming === 'string' && incoming.length > 0 && incoming.length <= MAX_REQUEST_ID_LENGTH ? incoming : randomUUID();
    const header = new grpc.Metadata();
    header.set(REQUEST_ID_HEADER, requestId);
    call.sendMetadata(header);

    const log = options.log.child({ requestId, method });
    const deadline = call.getDeadline();
    const ctx: RequestContext = { requestId, log, deadline: deadline === Infinity ? undefined : new Date(deadline) };
    const started = performance.now();
    handler(call.request, ctx).then(
      (response) => {
        log.debug({ ms: Math.round(performance.now() - started) }, 'call ok');
        callback(null, response);
      },
      (err: unknown) => {
        const error = toServiceError(err, options.errorDomain);
        const ms = Math.round(performance.now() - started);
        if (err instanceof DomainError) log.info({ ms, code: error.code, reason: err.reason }, 'call refused');
        else log.error({ ms, err }, 'call failed');
        callback(error);
      },
    );
  };
}

/**
 * Starts a gRPC server with the given services plus grpc.health.v1 (SERVING
 * only while `checkReady` succeeds) and server reflection v1 and v1alpha.
 */
export async function startGrpcServer(options: GrpcServerOptions, host: string, port: number): Promise<CarebookGrpcServer> {
  const server = new grpc.Server({ 'grpc.keepalive_permit_without_calls': 1 });
  for (const service of options.services) {
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [key, handler] of Object.entries(service.handlers)) {
      const method = (service.definition as grpc.ServiceDefinition)[key];
      implementation[key] = wrapUnary(method.path, handler as never, options);
    }
    server.addService(service.definition, implementation);
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
      () => true,
      (err) => {
        options.log.warn({ err }, 'readiness check failed');
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
