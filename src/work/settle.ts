import { median } from '../model/stats.ts';

/**
 * When a proxy's instruction count per query has settled. A fresh process spends its first
 * windows compiling (V8 tiers functions up, caches fill): measured on Athena at point select, the
 * first window after start costs about 2× the steady value and the second 1.07×. A fixed warm-up
 * would be wrong for some proxy or workload, so windows repeat until the last `windows` of them
 * show no trend: the medians of their older and newer halves differ by at most `tolerancePct` %
 * of the median. Medians, because a steady process still has the odd window with a major garbage
 * collection in it (+2-5% for that window), which must not hold the measurement up; the verdict's
 * rank statistics take such a window in their stride. Medians of halves alone would keep a
 * warm-up window when it is the oldest of few (seen: 55,043 then five windows near 18,500, whose
 * halves' medians agree within 1.2%), so the oldest kept window must also lie within
 * WARM_UP_ALLOWANCE_PCT of the kept median: a GC window passes, a warm-up window (×2, ×1.07) does
 * not. Earlier windows are discarded, and a workload that never settles within `maxWindows` keeps
 * its last `windows` with a warning.
 */
const WARM_UP_ALLOWANCE_PCT = 5;

export interface SettleRule {
  /** How many consecutive windows must agree; they are the samples the verdict uses. */
  windows: number;
  /** How far the medians of their older and newer halves may differ, in % of their median. */
  tolerancePct: number;
  /** Stop after this many windows, settled or not. */
  maxWindows: number;
}

export interface SettleState {
  settled: boolean;
  /** Index of the first window kept (earlier ones are discarded). */
  firstKept: number;
  /** The kept windows' range in % of their median (null until there are enough windows). */
  spreadPct: number | null;
  /** Newer-half median minus older-half median, in % of the kept windows' median. */
  trendPct: number | null;
}

export function settleState(values: readonly number[], rule: SettleRule): SettleState {
  if (values.length < rule.windows) return cutShort(values);
  const firstKept = values.length - rule.windows;
  const kept = values.slice(firstKept);
  const half = Math.floor(kept.length / 2);
  const center = median(kept);
  const spread = relativeRangePct(kept);
  const trendPct =
    center === 0
      ? 0
      : (100 * (median(kept.slice(kept.length - half)) - median(kept.slice(0, half)))) / center;
  const oldestOffPct = center === 0 ? 0 : (100 * Math.abs(kept[0]! - center)) / Math.abs(center);
  return {
    settled:
      Math.abs(trendPct) <= rule.tolerancePct &&
      oldestOffPct <= Math.max(rule.tolerancePct, WARM_UP_ALLOWANCE_PCT),
    firstKept,
    spreadPct: Number.isFinite(spread) ? spread : null,
    trendPct,
  };
}

/**
 * Fewer windows than the rule needs (the budget ended them): never settled, but the warm-up
 * windows in front (beyond WARM_UP_ALLOWANCE_PCT above the median of those after them) are set
 * aside and the rest's range is reported, so that a shift far larger than that range still
 * decides. Seen after a regression stretched every window: 46,397 then four windows within 0.9%
 * of 29,600, for a change of +64%.
 */
function cutShort(values: readonly number[]): SettleState {
  const MIN_KEPT = 3;
  let firstKept = 0;
  while (values.length - firstKept > MIN_KEPT) {
    const rest = median(values.slice(firstKept + 1));
    if (rest <= 0 || values[firstKept]! <= rest * (1 + WARM_UP_ALLOWANCE_PCT / 100)) break;
    firstKept++;
  }
  const kept = values.slice(firstKept);
  const spread = kept.length >= MIN_KEPT ? relativeRangePct(kept) : Number.NaN;
  return { settled: false, firstKept, spreadPct: Number.isFinite(spread) ? spread : null, trendPct: null };
}

/** True when another window should be measured. */
export function needsMoreWindows(values: readonly number[], rule: SettleRule): boolean {
  return values.length < rule.maxWindows && !settleState(values, rule).settled;
}

/** (max − min) / median, in %. */
export function relativeRangePct(values: readonly number[]): number {
  const center = median(values);
  const range = Math.max(...values) - Math.min(...values);
  if (center === 0) return range === 0 ? 0 : Number.POSITIVE_INFINITY;
  return (100 * range) / Math.abs(center);
}
