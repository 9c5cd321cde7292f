// Small statistics for the bench: nearest-rank percentiles and medians of per-round pairs.

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** The middle value (mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  errors: number;
}

/** Latencies in ms over `seconds` of load → the figures a load run reports. */
export function summarize(
  latenciesMs: readonly number[],
  seconds: number,
): Omit<LoadResult, "errors"> {
  return {
    requests: latenciesMs.length,
    rps: latenciesMs.length / seconds,
    p50_ms: percentile(latenciesMs, 50),
    p99_ms: percentile(latenciesMs, 99),
    max_ms: latenciesMs.length ? latenciesMs.reduce((max, v) => Math.max(v, max)) : Number.NaN,
  };
}

/**
 * For each round in which both `a` and `b` have a value, combine them (a ratio, a difference);
 * the median of those per-round figures. Pairing within a round cancels drift between rounds.
 */
export function medianOfPairs<T extends { round: number }>(
  runs: readonly T[],
  isA: (run: T) => boolean,
  isB: (run: T) => boolean,
  combine: (a: T, b: T) => number,
): number {
  const figures: number[] = [];
  for (const a of runs.filter(isA)) {
    const b = runs.find((run) => isB(run) && run.round === a.round);
    if (b) figures.push(combine(a, b));
  }
  return median(figures);
}
