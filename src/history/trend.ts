import { directArmName, metricSamples, type Results } from '../results/schema.ts';
import { median } from '../model/stats.ts';
import { signedFixed } from '../util/format.ts';
import type { HistoryFile, HistoryPoint } from './schema.ts';

/**
 * The small trend in a pull request's comment and job summary: per workload, the default branch's
 * last points of the gating metric with this run's value appended, as Mermaid `xychart-beta`
 * blocks (GitHub renders them in comments and summaries). The work channel's instructions per
 * query are preferred when the run has them (free of timing noise, a step is plain to see), the
 * time channel's median TPS otherwise.
 */

export const TREND_POINTS = 20;
export const TREND_WORKLOADS = 5;

export type TrendMetric = 'instructions_per_query' | 'tps';

/** This run's value per workload: the median of its proxy arm's samples of the metric. */
export interface CurrentRun {
  metric: TrendMetric;
  /** The proxy arm's name (matched in the history, falling back to any proxy-role arm). */
  arm: string;
  values: Map<string, number>;
}

/** The metric and values the trend shows for a run; null when the run has no proxy arm values. */
export function currentRun(results: Results): CurrentRun | null {
  const proxyArms = results.arms.filter((a) => a.role === 'proxy');
  const arm = proxyArms.find((a) => a.name === 'proxy') ?? proxyArms[0];
  if (!arm) return null;
  const direct = directArmName(results);
  const valuesOf = (metric: TrendMetric) => {
    const values = new Map<string, number>();
    for (const w of results.workloads) {
      const samples = metricSamples(w, arm.name, metric, direct);
      if (samples.length > 0) values.set(w.id, median(samples));
    }
    return values;
  };
  const counts = valuesOf('instructions_per_query');
  if (counts.size > 0) return { metric: 'instructions_per_query', arm: arm.name, values: counts };
  const tps = valuesOf('tps');
  return tps.size > 0 ? { metric: 'tps', arm: arm.name, values: tps } : null;
}

function historyValue(point: HistoryPoint, workload: string, arm: string, metric: string): number | null {
  const arms = point.workloads[workload]?.arms;
  if (!arms) return null;
  const chosen =
    arms[arm]?.role === 'proxy' ? arms[arm] : Object.values(arms).find((a) => a.role === 'proxy');
  return chosen?.metrics[metric]?.median ?? null;
}

const LABEL: Record<TrendMetric, string> = {
  instructions_per_query: 'instructions per query',
  tps: 'TPS (median)',
};

/** Six significant digits: enough for a chart, short in the markdown. */
const compact = (v: number) => String(Number(v.toPrecision(6)));
const quoted = (s: string) => `"${s.replace(/["\\\n]/g, '')}"`;

function chart(
  workload: string,
  metric: TrendMetric,
  main: Array<{ commit: string; value: number }>,
  pr: number,
): string {
  const values = [...main.map((p) => p.value), pr];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = hi > lo ? (hi - lo) * 0.1 : Math.abs(hi) * 0.01 || 1;
  const mainMedian = median(main.map((p) => p.value));
  const delta = mainMedian !== 0 ? ` (${signedFixed((100 * (pr - mainMedian)) / mainMedian, 1, '%')})` : '';
  return [
    '```mermaid',
    'xychart-beta',
    `  title ${quoted(`${workload}: ${LABEL[metric]}`)}`,
    `  x-axis [${[...main.map((p) => quoted(p.commit.slice(0, 7))), quoted('PR')].join(', ')}]`,
    `  y-axis ${quoted(LABEL[metric])} ${compact(lo - pad)} --> ${compact(hi + pad)}`,
    `  line [${values.map(compact).join(', ')}]`,
    '```',
    '',
    `\`${workload}\`: this pull request ${compact(pr)}, the default branch's last ${main.length}: median ${compact(mainMedian)}${delta}.`,
  ].join('\n');
}

/**
 * The trend section, or '' when no workload of the run has a point in the history. One chart per
 * workload (the first `workloads` of the run), each with the last `points` of the history.
 */
export function renderTrend(
  history: HistoryFile,
  current: CurrentRun,
  limits: { points?: number; workloads?: number } = {},
): string {
  const maxPoints = limits.points ?? TREND_POINTS;
  const charts: string[] = [];
  for (const [workload, pr] of current.values) {
    if (charts.length >= (limits.workloads ?? TREND_WORKLOADS)) break;
    const main = history.points
      .map((p) => ({ commit: p.commit, value: historyValue(p, workload, current.arm, current.metric) }))
      .filter((p): p is { commit: string; value: number } => p.value !== null)
      .slice(-maxPoints);
    if (main.length > 0) charts.push(chart(workload, current.metric, main, pr));
  }
  if (charts.length === 0) return '';
  return [
    `### Trend on the default branch: ${LABEL[current.metric]}`,
    `The last points of \`${history.suite}\`'s history, then this pull request's value (the last point, "PR").`,
    ...charts,
  ].join('\n\n');
}
