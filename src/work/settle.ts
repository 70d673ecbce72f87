/**
 * When a proxy's instruction count per query has settled. A fresh process spends its first
 * windows compiling (V8 tiers functions up, caches fill): measured on Athena at point select, the
 * first window after start costs about 2× the steady value and the second 1.07×. A fixed warm-up
 * would be wrong for some proxy or workload, so windows repeat until the last `windows` of them
 * agree: their range is at most `tolerancePct` % of their median. The earlier windows are
 * discarded, and a workload that never settles within `maxWindows` keeps its last `windows` with a
 * warning, so the verdict sees the spread rather than a guess.
 */
export interface SettleRule {
  /** How many consecutive windows must agree; they are the samples the verdict uses. */
  windows: number;
  /** Their largest minus smallest value, in % of their median. */
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
}

export function settleState(values: readonly number[], rule: SettleRule): SettleState {
  if (values.length < rule.windows) return { settled: false, firstKept: 0, spreadPct: null };
  const firstKept = values.length - rule.windows;
  const spreadPct = relativeRangePct(values.slice(firstKept));
  return { settled: spreadPct <= rule.tolerancePct, firstKept, spreadPct };
}

/** True when another window should be measured. */
export function needsMoreWindows(values: readonly number[], rule: SettleRule): boolean {
  return values.length < rule.maxWindows && !settleState(values, rule).settled;
}

/** (max − min) / median, in %. */
export function relativeRangePct(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  if (median === 0) return sorted[sorted.length - 1] === sorted[0] ? 0 : Number.POSITIVE_INFINITY;
  return (100 * (sorted[sorted.length - 1]! - sorted[0]!)) / Math.abs(median);
}
