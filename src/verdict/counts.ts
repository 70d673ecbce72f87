import { median, normalCdf, normalQuantile } from '../model/stats.ts';

/**
 * The work channel's statistic. Counts per query (instructions, syscalls, round trips, bytes) are
 * near-deterministic: the kept windows of one process agree within ±0.3%, apart from the odd
 * window a major garbage collection or a late compile landed in (+2% up to +33% seen). A rank
 * test treats such data as if it were as noisy as timings and has a floor on its p-value (with 5
 * windows per arm no p below 0.0079, whatever the change), so a 2× change could not be shown.
 * Counts are judged as counts instead:
 * - windows far from their arm's median (an outlier rule on the median absolute deviation, never
 *   tighter than OUTLIER_FLOOR_PCT) are set aside, and reported;
 * - the shift is the difference of the remaining windows' means, in % of the reference's;
 * - its uncertainty combines the windows' own spread (the standard error of the two means) with
 *   the metric's noise floor: how far two processes started alike differ, which no number of
 *   windows of one process can show (measured, docs/ACCURACY.md);
 * - the p-value is the normal tail of shift / uncertainty: no floor.
 */

/** A window further than this many scaled MADs from its arm's median is an outlier. */
const OUTLIER_MADS = 4;
/** ... but never one within this % of the median: ordinary jitter of exact counts is not an outlier. */
const OUTLIER_FLOOR_PCT = 1;

export interface RobustWindows {
  kept: number[];
  outliers: number[];
}

/** The windows of one arm with those a GC or a compile landed in set aside (at most half of them). */
export function robustWindows(values: readonly number[]): RobustWindows {
  if (values.length < 3) return { kept: [...values], outliers: [] };
  const center = median(values);
  const mad = 1.4826 * median(values.map((v) => Math.abs(v - center)));
  const limit = Math.max(OUTLIER_MADS * mad, (OUTLIER_FLOOR_PCT / 100) * Math.abs(center));
  const kept = values.filter((v) => Math.abs(v - center) <= limit);
  const outliers = values.filter((v) => Math.abs(v - center) > limit);
  return kept.length * 2 >= values.length ? { kept, outliers } : { kept: [...values], outliers: [] };
}

export interface CountShift {
  /** Shift of the current mean vs the reference's, in % of the reference's. */
  estimate: number;
  low: number;
  high: number;
  /** Two-sided p of "no shift". */
  pTwoSided: number;
  /** The uncertainty of the estimate (one standard deviation), in %. */
  sigmaPct: number;
  /** Windows set aside per side. */
  outliers: { current: number; reference: number };
  currentMean: number;
  referenceMean: number;
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Squared standard error of the mean (0 for a single window: the floor stands in for it). */
function squaredStandardError(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  const variance = values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1);
  return variance / values.length;
}

/**
 * The shift of `current` against `reference` (kept windows of each), with `noiseFloorPct` the
 * standard deviation between two processes started alike. Null when the reference's mean is 0.
 */
export function countShift(
  current: readonly number[],
  reference: readonly number[],
  noiseFloorPct: number,
  level = 0.95,
): CountShift | null {
  const cur = robustWindows(current);
  const ref = robustWindows(reference);
  const currentMean = mean(cur.kept);
  const referenceMean = mean(ref.kept);
  if (referenceMean === 0) return null;
  const scale = 100 / Math.abs(referenceMean);
  const estimate = (currentMean - referenceMean) * scale;
  const within = Math.sqrt(squaredStandardError(cur.kept) + squaredStandardError(ref.kept)) * scale;
  const sigmaPct = Math.hypot(within, noiseFloorPct);
  const z = normalQuantile(1 - (1 - level) / 2);
  const pTwoSided =
    sigmaPct === 0 ? (estimate === 0 ? 1 : 0) : 2 * (1 - normalCdf(Math.abs(estimate) / sigmaPct));
  return {
    estimate,
    low: estimate - z * sigmaPct,
    high: estimate + z * sigmaPct,
    pTwoSided: Math.min(1, pTwoSided),
    sigmaPct,
    outliers: { current: cur.outliers.length, reference: ref.outliers.length },
    currentMean,
    referenceMean,
  };
}
