import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { Logger as GraphileLogger, makeWorkerUtils, run, type LogFunctionFactory, type Runner, type WorkerEvents } from 'graphile-worker';
import { isUuid, runPeriodically, type Logger } from '@carebook/server';
import { SEND_TASK } from '../notifications/statements';
import type { SendResult } from './send-notification';
import { inSendSpan } from './send-span';
import { workerRecovery } from './worker-recovery';

// The delivery workers: graphile-worker running the send job, `concurrency`
// at a time, on the service's pool. Signals are the process's (main.ts), not
// graphile-worker's; stop() shuts it down gracefully. Heartbeats and crash
// recovery: worker-recovery.ts.

export interface DeliveryWorkerOptions {
  concurrency: number;
  /** How often an idle worker looks for jobs that became due (graphile-worker's pollInterval): the most a message waits past its time. */
  pollIntervalMs: number;
  /** A worker whose heartbeat is this old is taken for dead; heartbeats are written three times as often. */
  staleMs: number;
}

export interface DeliveryWorker {
  /** Stops taking jobs, lets the running ones finish, then removes this process's heartbeats. */
  stop(): Promise<void>;
  /** Runs the heartbeat and recovery once (tests). */
  recoverNow(): Promise<void>;
}

/** graphile-worker's log lines in pino, with the worker and job ids of its scope; its metadata (jobs, payloads) is left out. */
function graphileLogger(log: Logger): GraphileLogger {
  const factory: LogFunctionFactory = (scope) => (level, message) => {
    const fields = { workerId: scope.workerId, jobId: scope.jobId, task: scope.taskIdentifier };
    const method = (level as string) === 'error' ? 'error' : (level as string) === 'warning' ? 'warn' : (level as string) === 'info' ? 'info' : 'debug';
    log[method](fields, message);
  };
  return new GraphileLogger(factory);
}

/**
 * The rows a send job is about: graphile-worker's batch payload, an array
 * of ids (notifications/statements.ts), or the single `notificationId` of
 * jobs added before messages due together were sent by one job. Anything
 * else is not this service's.
 */
function notificationIdsOf(payload: unknown): string[] | undefined {
  const ids = Array.isArray(payload) ? payload : [(payload as { notificationId?: unknown } | null)?.notificationId];
  return ids.length > 0 && ids.every((id) => typeof id === 'string' && isUuid(id)) ? (ids as string[]) : undefined;
}

/** Starts the workers that run `deliver` for each due send job. */
export async function startDeliveryWorker(pool: pg.Pool, deliver: (notificationIds: readonly string[]) => Promise<SendResult[]>, log: Logger, options: DeliveryWorkerOptions): Promise<DeliveryWorker> {
  const workerLog = log.child({ component: 'delivery' });
  const logger = graphileLogger(workerLog);
  const events: WorkerEvents = new EventEmitter();
  const workerIds = new Set<string>();
  events.on('worker:create', ({ worker }) => workerIds.add(worker.workerId));
  events.on('worker:stop', ({ worker }) => workerIds.delete(worker.workerId));

  const runner: Runner = await run({
    pgPool: pool,
    concurrency: options.concurrency,
    pollInterval: options.pollIntervalMs,
    noHandleSignals: true,
    logger,
    events,
    taskList: {
      async [SEND_TASK](payload) {
        const ids = notificationIdsOf(payload);
        // Only this service adds these jobs; anything else is dropped, not retried.
        if (!ids) return workerLog.error({ task: SEND_TASK }, 'send job without notification ids dropped');
        await inSendSpan(ids, () => deliver(ids));
      },
    },
  });
  const utils = await makeWorkerUtils({ pgPool: pool, logger });
  const recovery = workerRecovery(pool, utils, () => [...workerIds], options.staleMs, workerLog);
  const heartbeat = runPeriodically('delivery worker heartbeat', Math.max(100, Math.floor(options.staleMs / 3)), () => recovery.beatAndRecover(), workerLog);

  return {
    async stop() {
      // Heartbeats go on while the running jobs finish, so no other replica takes them for dead.
      await runner.stop();
      await heartbeat.stop();
      await recovery.forget().catch((err) => workerLog.warn({ err }, 'could not remove the heartbeats'));
      await utils.release();
    },
    recoverNow: () => heartbeat.runNow(),
  };
}
