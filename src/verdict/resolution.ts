/** What this file reads of a metric comparison (compare.ts's MetricComparison has it all). */
interface MetricResolution {
  metric: string;
  channel: 'time' | 'work';
  policy: string;
  scale: string;
  thresholdPct: number;
  currentMedian: number | null;
  resolution: number | null;
}

interface WorkloadResolution {
  metrics: readonly MetricResolution[];
}

/**
 * The throughput loss the time channel must be able to see in every workload it measures: what
 * counts cannot see (a wait, a lock, lost concurrency) shows as lost throughput, and a gate that
 * cannot resolve a loss this large at its run's noise is not guarding anything.
 */
export const THROUGHPUT_LOSS_TO_RESOLVE_PCT = 15;

const THROUGHPUT_METRICS: ReadonlySet<string> = new Set(['tps', 'qps', 'overhead_pct']);

/**
 * The smallest throughput loss, in % of the proxy's throughput, that this workload's gated time
 * metrics could not rule out: null when none of them passed with a stated resolution. A relative
 * TPS or QPS resolution is one already; an overhead resolution in points becomes one through the
 * overhead itself: at overhead o, losing L% of the proxy's throughput adds L·(1 − o/100) points.
 */
export function resolvedThroughputLossPct(workload: WorkloadResolution): number | null {
  const losses = workload.metrics.flatMap((m) => {
    const loss = lossResolvedBy(m);
    return loss === null ? [] : [loss];
  });
  return losses.length === 0 ? null : Math.min(...losses);
}

function lossResolvedBy(m: MetricResolution): number | null {
  if (m.channel !== 'time' || m.policy !== 'gate' || m.resolution === null) return null;
  if (!THROUGHPUT_METRICS.has(m.metric)) return null;
  if (m.scale === 'relative') return m.resolution;
  if (m.metric !== 'overhead_pct' || m.currentMedian === null) return null;
  const carried = 1 - m.currentMedian / 100;
  return carried > 0 ? m.resolution / carried : null;
}

/**
 * Whether the time channel of a workload could have seen the loss it must, or could not because
 * of its interval and not its threshold: more rounds narrow an interval, never a threshold. A
 * workload whose threshold is itself coarser than the loss (mysqlslap's 10 points at 50% overhead
 * is a 20% loss) is judged at its threshold, and its pass line says what that resolves.
 */
export function needsRoundsToResolve(
  workload: WorkloadResolution,
  lossPct: number = THROUGHPUT_LOSS_TO_RESOLVE_PCT,
): boolean {
  return workload.metrics.some((m) => {
    const resolved = lossResolvedBy(m);
    return resolved !== null && m.resolution! > m.thresholdPct && resolved > lossPct;
  });
}
