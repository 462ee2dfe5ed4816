import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { OutageLog } from './outage-log';

/** grpc.health.v1 of a server: SERVING while its readiness check passes, NOT_SERVING from shutdown on. */
export interface ServedHealth {
  /** Checks readiness now and every `intervalMs` until stopped. */
  startReadinessLoop(intervalMs: number): Promise<void>;
  /** Stops the loop, turns every status NOT_SERVING and ends the open Watch streams. */
  stop(): void;
}

/**
 * Adds grpc.health.v1 to `server` for the whole server ('') and each of
 * `services`, all NOT_SERVING until `checkReady` first passes. A failing check
 * is an outage of the database, logged once through `database`.
 */
export function serveHealth(server: grpc.Server, services: string[], checkReady: () => Promise<void>, database: OutageLog, log: Logger): ServedHealth {
  const names = ['', ...services];
  const health = new HealthImplementation(Object.fromEntries(names.map((n) => [n, 'NOT_SERVING'])));
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

  let stopped = false;
  let current: ServingStatus = 'NOT_SERVING';
  let timer: NodeJS.Timeout | undefined;
  const setStatus = (status: ServingStatus) => {
    if (status === current) return;
    current = status;
    for (const name of names) health.setStatus(name, status);
    log.info({ status }, 'health changed');
  };
  const checkReadiness = async () => {
    if (stopped) return;
    const ready = await checkReady().then(
      () => (database.succeeded(), true),
      (err) => (database.failed(err), false),
    );
    if (!stopped) setStatus(ready ? 'SERVING' : 'NOT_SERVING');
  };

  return {
    async startReadinessLoop(intervalMs) {
      await checkReadiness();
      timer = setInterval(checkReadiness, intervalMs);
      timer.unref();
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      setStatus('NOT_SERVING');
      for (const call of watches) call.end();
    },
  };
}
