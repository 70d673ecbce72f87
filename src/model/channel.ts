import { isWorkMetric, type MetricName } from './metrics.ts';

/** time: TPS, latency, CPU time (noisy, rank statistics); work: counts per query (verdict/counts.ts). */
export type Channel = 'time' | 'work';

export function channelOf(metric: MetricName): Channel {
  return isWorkMetric(metric) ? 'work' : 'time';
}

/** Which channels a run measures (results.json `measure`, the CLI's --measure, the Action's input). */
export const MEASURES = ['both', 'work', 'time'] as const;
export type Measure = (typeof MEASURES)[number];
