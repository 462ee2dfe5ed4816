import type { Logger } from 'pino';

/** Tracks one dependency's availability from the outcomes of the calls that need it. */
export interface OutageLog {
  /** A call found the dependency unavailable: logged only if it was available until now. */
  failed(err: unknown): void;
  /** A call reached the dependency: ends an outage, logging how long it lasted. */
  succeeded(): void;
  /** True while the last outcome was a failure. */
  readonly down: boolean;
}

/**
 * Logs an outage of `dependency` once when it starts and once when it ends,
 * however many calls meet it in between: one line per call would bury
 * everything else in the logs, and say nothing the first line did not.
 */
export function outageLog(log: Logger, dependency: string): OutageLog {
  let since: number | undefined;
  let failures = 0;
  return {
    failed(err) {
      failures++;
      if (since !== undefined) return;
      since = Date.now();
      log.error({ err, dependency }, 'dependency unavailable');
    },
    succeeded() {
      if (since === undefined) return;
      log.info({ dependency, failures, downMs: Date.now() - since }, 'dependency available again');
      since = undefined;
      failures = 0;
    },
    get down() {
      return since !== undefined;
    },
  };
}
