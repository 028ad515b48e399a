/**
 * Mergeable latency histograms with logarithmic buckets (the scheme of DDSketch, Masson et al.,
 * VLDB 2019): a value v > 0 (milliseconds) falls in bucket `i = ceil(ln v / ln γ)`, i.e.
 * γ^(i−1) < v ≤ γ^i, with γ = (1 + α) / (1 − α). The bucket's representative value
 * 2γ^i / (γ + 1) is within a relative error α of every value in it, so a percentile read from the
 * buckets is within α of the exact percentile of the same samples. Zero (and anything below it)
 * has a bucket of its own, {@link ZERO_BUCKET}, represented exactly.
 *
 * A histogram is a sparse map bucket index → count (`{"-100000": 3, "312": 40}` as jsonb), so merging
 * windows is adding counts: any window's percentiles come from its minutes' histograms without
 * keeping a sample. The same bucket function runs in SQL ({@link bucketSql}) when the rollup
 * aggregates `inference_samples`; floating point may put a value lying exactly on a bucket edge
 * in the neighbouring bucket there, which keeps the same error bound (both representatives are
 * within α of the edge).
 */

/** The documented relative error of every percentile: 1 %. */
export const RELATIVE_ERROR = 0.01;
/** γ = (1 + α) / (1 − α). */
export const GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR);
/** The bucket of values ≤ 0 (below every bucket of a positive double, whose index is > −40,000). */
export const ZERO_BUCKET = -100_000;

/** Bucket index → count. Keys are decimal integers (jsonb object keys are strings). */
export type LatencyHistogram = Record<string, number>;

/** The bucket of a latency in ms. */
export function bucketOf(valueMs: number): number {
  if (!(valueMs > 0)) return ZERO_BUCKET;
  return Math.ceil(Math.log(valueMs) / Math.log(GAMMA));
}

/** The value a bucket stands for, ms (0 for {@link ZERO_BUCKET}). */
export function representative(bucket: number): number {
  if (bucket === ZERO_BUCKET) return 0;
  return (2 * GAMMA ** bucket) / (GAMMA + 1);
}

/**
 * The largest value (ms) of the bucket `valueMs` falls in: every sample a percentile read as
 * `valueMs` stands for is at most this (0 for values ≤ 0).
 */
export function bucketUpperBound(valueMs: number): number {
  const bucket = bucketOf(valueMs);
  return bucket === ZERO_BUCKET ? 0 : GAMMA ** bucket;
}

/** SQL for the bucket of the numeric expression `value` (ms), matching {@link bucketOf}. */
export function bucketSql(value: string): string {
  return `(CASE WHEN ${value} > 0 THEN ceil(ln((${value})::float8) / ln(${GAMMA}::float8))::int ELSE ${ZERO_BUCKET} END)`;
}

/** A histogram of `values` (ms). */
export function histogramOf(values: Iterable<number>): LatencyHistogram {
  const histogram: LatencyHistogram = {};
  for (const value of values) {
    const key = String(bucketOf(value));
    histogram[key] = (histogram[key] ?? 0) + 1;
  }
  return histogram;
}

/** Adds `other`'s counts into `into` (mutates and returns `into`). */
export function mergeInto(into: LatencyHistogram, other: LatencyHistogram): LatencyHistogram {
  for (const [key, count] of Object.entries(other)) into[key] = (into[key] ?? 0) + Number(count);
  return into;
}

/** How many samples a histogram holds. */
export function countOf(histogram: LatencyHistogram): number {
  return Object.values(histogram).reduce((sum, n) => sum + Number(n), 0);
}

/**
 * The `q`-quantile (0 < q ≤ 1) by nearest rank: the value of rank ⌈q·n⌉ in sorted order, read
 * as its bucket's representative, in ms rounded to 0.01; null for an empty histogram. Within
 * {@link RELATIVE_ERROR} (plus the 0.005 ms of rounding) of {@link exactQuantile} of the same
 * samples.
 */
export function quantile(histogram: LatencyHistogram, q: number): number | null {
  const buckets = Object.entries(histogram)
    .map(([key, count]) => [Number(key), Number(count)] as const)
    .filter(([, count]) => count > 0)
    .sort((a, b) => a[0] - b[0]);
  const n = buckets.reduce((sum, [, count]) => sum + count, 0);
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (const [bucket, count] of buckets) {
    seen += count;
    if (seen >= rank) return Math.round(representative(bucket) * 100) / 100;
  }
  return Math.round(representative(buckets[buckets.length - 1][0]) * 100) / 100;
}

/** The exact nearest-rank `q`-quantile of `values` (what {@link quantile} approximates). */
export function exactQuantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}
