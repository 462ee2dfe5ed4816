import { summarise, type LatencySummary } from './stats';

/** What one operation came to: 'ok', or a short error class such as 'SLOT_UNAVAILABLE' or 'UNAVAILABLE'. */
export type Outcome = string;

/** An operation of worker `worker`; resolves with its outcome, or `undefined` when there is no more work. */
export type Operation = (worker: number) => Promise<Outcome | undefined>;

export interface ClosedLoopOptions {
  concurrency: number;
  /** How long to measure; the loop also ends when an operation reports no more work. */
  durationMs: number;
  /** Operations started in this first stretch are run but not measured (pools, JIT, caches). */
  warmupMs?: number;
}

/** Figures of one measured run. */
export interface LoadResult {
  concurrency: number;
  ops: number;
  elapsedMs: number;
  /** Measured operations per second: ops / elapsed. */
  throughput: number;
  latencyMs: LatencySummary;
  /** Outcomes other than 'ok', by class. */
  errors: Record<string, number>;
  errorCount: number;
  /** Every outcome, 'ok' included. */
  outcomes: Record<string, number>;
}

/** Figures from latencies and outcomes collected over `elapsedMs`. */
export function toLoadResult(concurrency: number, latencies: number[], outcomes: Outcome[], elapsedMs: number): LoadResult {
  const tally: Record<string, number> = {};
  for (const o of outcomes) tally[o] = (tally[o] ?? 0) + 1;
  const errors = Object.fromEntries(Object.entries(tally).filter(([k]) => k !== 'ok'));
  const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
  return {
    concurrency,
    ops: latencies.length,
    elapsedMs: Math.round(elapsedMs),
    throughput: elapsedMs > 0 ? Math.round((latencies.length / elapsedMs) * 1000 * 10) / 10 : 0,
    latencyMs: summarise(latencies),
    errors,
    errorCount,
    outcomes: tally,
  };
}

/**
 * A closed loop: `concurrency` workers, each starting its next operation as
 * soon as the previous one ends, for a fixed duration. Latency is measured
 * per operation with performance.now(); throughput is measured operations
 * divided by the time from the end of the warm-up to the last completion.
 */
export async function runClosedLoop(options: ClosedLoopOptions, op: Operation): Promise<LoadResult> {
  const latencies: number[] = [];
  const outcomes: Outcome[] = [];
  const start = performance.now();
  const measureFrom = start + (options.warmupMs ?? 0);
  const stopAt = measureFrom + options.durationMs;
  let lastEnd = measureFrom;
  let exhausted = false;

  async function worker(w: number): Promise<void> {
    while (!exhausted && performance.now() < stopAt) {
      const t0 = performance.now();
      const outcome = await op(w);
      const t1 = performance.now();
      if (outcome === undefined) {
        exhausted = true;
        return;
      }
      if (t0 >= measureFrom) {
        latencies.push(t1 - t0);
        outcomes.push(outcome);
        if (t1 > lastEnd) lastEnd = t1;
      }
    }
  }

  await Promise.all(Array.from({ length: options.concurrency }, (_, w) => worker(w)));
  return toLoadResult(options.concurrency, latencies, outcomes, lastEnd - measureFrom);
}

/** Raw samples of a burst. */
export interface BurstSamples {
  latencies: number[];
  outcomes: Outcome[];
  elapsedMs: number;
}

/** Every one of `count` clients fires one operation at the same moment (a rush); resolves when all have answered. */
export async function burst(count: number, op: (client: number) => Promise<Outcome>): Promise<BurstSamples> {
  const latencies = new Array<number>(count);
  const outcomes = new Array<Outcome>(count);
  const start = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const t0 = performance.now();
      outcomes[i] = await op(i);
      latencies[i] = performance.now() - t0;
    }),
  );
  return { latencies, outcomes, elapsedMs: performance.now() - start };
}

/** A burst's figures; throughput is count / elapsed. */
export async function runBurst(count: number, op: (client: number) => Promise<Outcome>): Promise<LoadResult> {
  const samples = await burst(count, op);
  return toLoadResult(count, samples.latencies, samples.outcomes, samples.elapsedMs);
}
