import { METRIC_DEFAULTS } from '../model/metrics.ts';
import { median } from '../model/stats.ts';
import { eDivisive, hashSeed, type EDivisiveOptions } from './edivisive.ts';
import type { HistoryFile, HistoryPoint } from './schema.ts';

export interface DetectOptions extends EDivisiveOptions {
  /** Smallest shift reported: in % of the before-median, or in the metric's unit for point/count metrics. */
  minMagnitude: number;
  /** Arms to look at; default: every arm whose role is proxy (the thing under test). */
  arms?: readonly string[];
}

/**
 * Defaults chosen with `npm run bench:history` (docs/HISTORY.md): a false alarm on main costs
 * everyone's attention, so the significance level is 0.001 (about 2 step-free series in 1000 with
 * 8% noise showed a change point), which still locates a 3% step in 1% noise almost always.
 */
export const DEFAULT_DETECT_OPTIONS: DetectOptions = {
  significance: 0.001,
  permutations: 999,
  minSegment: 3,
  seed: 1,
  minMagnitude: 1,
};

export interface ChangePoint {
  suite: string;
  workload: string;
  arm: string;
  metric: string;
  /** The first commit measured after the shift. */
  commit: string;
  /** The last commit measured before it: the shift came in between (exclusive) and `commit` (inclusive). */
  previousCommit: string;
  time: string;
  runUrl: string | null;
  /** Median of the points' medians on each side, up to the neighbouring change points. */
  before: { median: number; points: number };
  after: { median: number; points: number };
  /** after − before, in % of before (unit '%') or in the metric's own unit (unit 'points'). */
  shift: number;
  unit: '%' | 'points';
  /** Whether the shift is bad news for a metric of known direction (null when unknown). */
  direction: 'worse' | 'better' | null;
  pValue: number;
  /** The machine fingerprint differs across the shift: it may be the machine, not the code. */
  environmentChanged: boolean;
}

export interface MetricSeries {
  workload: string;
  arm: string;
  metric: string;
  points: HistoryPoint[];
  values: number[];
}

/** Every (workload, arm, metric) series in a history, points in store order. */
export function seriesOf(history: HistoryFile, arms?: readonly string[]): MetricSeries[] {
  const byKey = new Map<string, MetricSeries>();
  for (const point of history.points) {
    for (const [workload, w] of Object.entries(point.workloads)) {
      for (const [arm, a] of Object.entries(w.arms)) {
        if (arms ? !arms.includes(arm) : a.role !== 'proxy') continue;
        for (const [metric, summary] of Object.entries(a.metrics)) {
          const key = JSON.stringify([workload, arm, metric]);
          let s = byKey.get(key);
          if (!s) byKey.set(key, (s = { workload, arm, metric, points: [], values: [] }));
          s.points.push(point);
          s.values.push(summary.median);
        }
      }
    }
  }
  return [...byKey.values()];
}

function shiftOf(metric: string, before: number, after: number): { shift: number; unit: '%' | 'points' } {
  const scale = (METRIC_DEFAULTS as Record<string, { scale: string } | undefined>)[metric]?.scale;
  if (scale === 'points' || scale === 'count' || before === 0)
    return { shift: after - before, unit: 'points' };
  return { shift: (100 * (after - before)) / Math.abs(before), unit: '%' };
}

function directionOf(metric: string, shift: number): ChangePoint['direction'] {
  const spec = (METRIC_DEFAULTS as Record<string, { direction: string } | undefined>)[metric];
  if (!spec || shift === 0) return null;
  return shift > 0 === (spec.direction === 'lower-better') ? 'worse' : 'better';
}

/** Before/after medians of each change point, segments running to the neighbouring change points. */
function describe(series: MetricSeries, indices: number[], suite: string, pValues: Map<number, number>) {
  const bounds = [0, ...indices, series.values.length];
  return indices.map((index, i): ChangePoint => {
    const beforeValues = series.values.slice(bounds[i], index);
    const afterValues = series.values.slice(index, bounds[i + 2]);
    const before = median(beforeValues);
    const after = median(afterValues);
    const { shift, unit } = shiftOf(series.metric, before, after);
    const point = series.points[index]!;
    const previous = series.points[index - 1]!;
    return {
      suite,
      workload: series.workload,
      arm: series.arm,
      metric: series.metric,
      commit: point.commit,
      previousCommit: previous.commit,
      time: point.time,
      runUrl: point.runUrl,
      before: { median: before, points: beforeValues.length },
      after: { median: after, points: afterValues.length },
      shift,
      unit,
      direction: directionOf(series.metric, shift),
      pValue: pValues.get(index)!,
      environmentChanged: point.environment.fingerprint !== previous.environment.fingerprint,
    };
  });
}

/**
 * The change points of one series: E-divisive's significant splits, then, smallest first, those
 * whose shift is below the minimum magnitude are dropped (and their neighbours' medians recomputed
 * over the merged segments), so what is reported is both significant and large enough to matter.
 */
export function detectSeries(series: MetricSeries, suite: string, options: DetectOptions): ChangePoint[] {
  const seed = hashSeed(`${suite}/${series.workload}/${series.arm}/${series.metric}`, options.seed);
  const found = eDivisive(series.values, { ...options, seed });
  const pValues = new Map(found.map((f) => [f.index, f.pValue]));
  let indices = found.map((f) => f.index);
  for (;;) {
    const described = describe(series, indices, suite, pValues);
    const small = described
      .filter((c) => Math.abs(c.shift) < options.minMagnitude)
      .sort((a, b) => Math.abs(a.shift) - Math.abs(b.shift))[0];
    if (!small) return described;
    const drop = indices[described.indexOf(small)];
    indices = indices.filter((i) => i !== drop);
  }
}

/** Change points of every series of every suite, in suite, workload, arm, metric and commit order. */
export function detectChangePoints(histories: readonly HistoryFile[], options: DetectOptions): ChangePoint[] {
  return histories.flatMap((h) =>
    seriesOf(h, options.arms).flatMap((s) => detectSeries(s, h.suite, options)),
  );
}
