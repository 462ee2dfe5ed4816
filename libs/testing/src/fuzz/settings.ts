// The fuzz run's knobs, from the environment, so any run can be repeated.

/** Seed, time budget and mode of a fuzz run. */
export interface FuzzSettings {
  seed: number;
  /** fast-check stops starting new cases (and shrinking) after this. */
  timeMs: number;
  numRuns: number;
  /** fast-check's replay path of a counterexample, from its failure message. */
  path?: string;
  /** Collect and print every finding instead of failing on the first. */
  report: boolean;
  /** Deadline of each call. */
  deadlineMs: number;
}

export const DEFAULT_FUZZ_SEED = 20261201;

/**
 * Settings from FUZZ_SEED (a number, or "random"), FUZZ_TIME_MS (default
 * 25000), FUZZ_RUNS, FUZZ_PATH and FUZZ_REPORT=1.
 */
export function fuzzSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): FuzzSettings {
  const seed = env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(env.FUZZ_SEED ?? DEFAULT_FUZZ_SEED);
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer or "random", not ${env.FUZZ_SEED}`);
  return {
    seed,
    timeMs: Number(env.FUZZ_TIME_MS ?? 25_000),
    numRuns: Number(env.FUZZ_RUNS ?? 1_000_000),
    path: env.FUZZ_PATH || undefined,
    report: env.FUZZ_REPORT === '1',
    deadlineMs: 5000,
  };
}
