/** Latency summary of one measured run, in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** The q-quantile (0..1) of ascending `sorted` values, nearest rank; 0 for no values. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Mean, p50, p95, p99 and max of `latenciesMs`, rounded to 0.01 ms. */
export function summarise(latenciesMs: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(latenciesMs).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    count: sorted.length,
    mean: round(sorted.length ? sum / sorted.length : 0),
    p50: round(percentile(sorted, 0.5)),
    p95: round(percentile(sorted, 0.95)),
    p99: round(percentile(sorted, 0.99)),
    max: round(sorted.length ? sorted[sorted.length - 1] : 0),
  };
}

/** a / b rounded to 0.001, or null when b is not a positive number. */
export function ratio(a: number, b: number): number | null {
  return b > 0 && Number.isFinite(a) ? Math.round((a / b) * 1000) / 1000 : null;
}
