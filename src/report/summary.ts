import { medianOrNull } from '../model/stats.ts';
import type { Results, RoundSample, WorkloadResult } from '../results/schema.ts';
import type { Workload } from '../suite/schema.ts';

/** Half the min–max range as a percentage of the median: the ± shown next to a median. */
export function spreadPct(values: readonly number[]): number | null {
  const m = medianOrNull(values);
  if (m === null || m === 0 || values.length < 2) return null;
  return (100 * (Math.max(...values) - Math.min(...values))) / 2 / Math.abs(m);
}

/** Throughput unit the performance-testing guide's table (docs/PERF.md) uses for a workload: QPS for pure point selects, else TPS. */
export function throughputUnit(workload: Workload | undefined, driver: string): 'tps' | 'qps' {
  if (!workload) return driver === 'mysqlslap' ? 'qps' : 'tps';
  switch (workload.driver) {
    case 'sysbench':
      return /point_select|select_random/.test(workload.options.test) ? 'qps' : 'tps';
    case 'mysqlslap':
      return 'qps';
    case 'builtin':
      return workload.options.mix === 'point_select' ? 'qps' : 'tps';
  }
}

export function suiteWorkload(results: Results, id: string): Workload | undefined {
  return results.suite.workloads.find((w) => w.id === id);
}

export function samplesOf(workload: WorkloadResult, arm: string): RoundSample[] {
  return workload.samples.filter((s) => s.arm === arm).sort((a, b) => a.round - b.round);
}

/** Per round, 100 × (1 − arm / direct) of the given throughput metric, from the same round. */
export function overheadPerRound(workload: WorkloadResult, arm: string, unit: 'tps' | 'qps'): number[] {
  const direct = new Map(samplesOf(workload, 'direct').map((s) => [s.round, s.metrics[unit]]));
  return samplesOf(workload, arm).flatMap((s) => {
    const d = direct.get(s.round);
    return d ? [100 * (1 - s.metrics[unit] / d)] : [];
  });
}

/** Per round, arm latency − direct latency (ms) of the same round. */
export function addedLatencyPerRound(workload: WorkloadResult, arm: string, key: 'p95' | 'p99'): number[] {
  const direct = new Map(samplesOf(workload, 'direct').map((s) => [s.round, s.metrics.latencyMs[key]]));
  return samplesOf(workload, arm).flatMap((s) => {
    const d = direct.get(s.round);
    const a = s.metrics.latencyMs[key];
    return d != null && a != null ? [a - d] : [];
  });
}

export function numbers(values: ReadonlyArray<number | null | undefined>): number[] {
  return values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}
