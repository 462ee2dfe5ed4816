import type { Logger } from 'pino';
import { outageLog } from './outage-log';
import { isDatabaseUnavailable } from './postgres-errors';

/** A background loop started by runPeriodically. */
export interface PeriodicTask {
  /** Stops scheduling and waits for a run in progress to finish. */
  stop(): Promise<void>;
  /** Runs the task now (after any run in progress) and resolves with its result. */
  runNow(): Promise<void>;
  /** Asks for a run soon, after any in progress: however often it is asked meanwhile, one run is queued. */
  wake(): void;
}

/**
 * Runs `task` at once and then every `intervalMs`, never two runs at a time.
 * A failed run is logged and retried at the next tick; runs that fail because
 * the database is unreachable are logged once per outage, not once a tick.
 */
export function runPeriodically(name: string, intervalMs: number, task: () => Promise<unknown>, log: Logger): PeriodicTask {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let woken = false;
  const database = outageLog(log.child({ task: name }), 'database');

  const run = (): Promise<void> =>
    task().then(
      () => database.succeeded(),
      (err) => {
        if (isDatabaseUnavailable(err)) database.failed(err);
        else log.error({ err, task: name }, 'periodic task failed');
      },
    );
  const runOnce = (): Promise<void> => (running = running.then(run));
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void runOnce().then(schedule), intervalMs);
    timer.unref();
  };
  void runOnce().then(schedule);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    runNow: runOnce,
    wake() {
      if (stopped || woken) return;
      woken = true;
      // Cleared as the queued run starts: a wake during that run queues the next.
      running = running.then(() => {
        woken = false;
        return run();
      });
    },
  };
}
