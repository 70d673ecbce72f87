import { z } from 'zod';

/** Metrics a verdict can be computed on. Their specs (direction, threshold, policy) are below. */
export const MetricNameSchema = z.enum([
  'tps',
  'qps',
  'latency_avg_ms',
  'latency_p95_ms',
  'latency_p99_ms',
  'cpu_us_per_query',
  'peak_rss_mb',
  'overhead_pct',
  'added_latency_p95_ms',
  'errors',
  'instructions_per_query',
  'syscalls_per_query',
  'backend_round_trips_per_query',
  'bytes_per_query',
]);
export type MetricName = z.infer<typeof MetricNameSchema>;

/** The work channel's metrics: counts per query, measured under valgrind, not timed. */
export const WORK_METRICS = [
  'instructions_per_query',
  'syscalls_per_query',
  'backend_round_trips_per_query',
  'bytes_per_query',
] as const satisfies readonly MetricName[];
export type WorkMetricName = (typeof WORK_METRICS)[number];

/**
 * Metrics computed per round against the direct arm of the same round (the machine's state
 * divides out): overhead and the latency the proxy adds.
 */
export const PAIRED_METRICS = [
  'overhead_pct',
  'added_latency_p95_ms',
] as const satisfies readonly MetricName[];
export type PairedMetricName = (typeof PAIRED_METRICS)[number];

export function isPairedMetric(metric: MetricName): metric is PairedMetricName {
  return (PAIRED_METRICS as readonly MetricName[]).includes(metric);
}

export function isWorkMetric(metric: MetricName): metric is WorkMetricName {
  return (WORK_METRICS as readonly MetricName[]).includes(metric);
}

export type Direction = 'higher-better' | 'lower-better';
export type Policy = 'gate' | 'warn' | 'off';

/**
 * How a change of a metric is measured: `relative` in % of the baseline median; `points` in the
 * metric's own unit (overhead_pct is already a percentage: a move from 20% to 22% is +2 points,
 * not +10%); `count` for errors (any error is a failure, no statistics needed).
 */
export type Scale = 'relative' | 'points' | 'count';

export interface MetricSpec {
  metric: MetricName;
  label: string;
  unit: string;
  direction: Direction;
  scale: Scale;
  /** The smallest change that matters, in % (relative), points, or errors (count). */
  thresholdPct: number;
  /**
   * The threshold against a committed baseline when it must be wider than base-vs-head's: a count
   * that drifts between runs more than between two processes measured side by side.
   */
  baselineThresholdPct?: number;
  policy: Policy;
  /**
   * Work channel: the standard deviation, in %, between two processes started alike (counts.ts):
   * what the windows of one process cannot show. Measured; docs/ACCURACY.md.
   */
  noiseFloorPct?: number;
  /** Depends on the machine's speed: informational when the environment differs from the baseline's. */
  absolute: boolean;
}

/**
 * Defaults, chosen from the noise measured on this project's 2-core machines (docs/ACCURACY.md): direct MySQL
 * TPS moves about ±10% between identical runs, a proxy's CPU µs per query about ±2%.
 *
 * A verdict needs the whole 95% interval beyond the threshold, so a threshold below the noise
 * between runs would turn run-to-run drift (which shifts every sample of a run together, so the
 * interval is narrow around it) into false alarms, and a threshold well above it would hide real
 * slowdowns. Hence:
 * - tps, qps: 10% — the between-run drift of throughput; smaller throughput losses are caught by
 *   the normalised metrics below, which do not drift with the machine.
 * - latency_p95_ms: 15% — tail latency of a 2-core box is noisier than throughput (one scheduler
 *   hiccup moves p95), so it needs more room than tps to stay free of false alarms.
 * - cpu_us_per_query: 2% — the most precise signal of "the proxy got slower". A regression needs
 *   the whole interval beyond the threshold, so a 5% slowdown is only detectable when the
 *   threshold sits well below 5%: with 4% the interval's lower end had to clear 4%, which a true
 *   5% does only when the interval is narrower than ±1% (docs/ACCURACY.md). Noise is handled by the interval, and
 *   machine drift in baseline mode by the control-drift guard (compare.ts), not by this number.
 * - overhead_pct: 5 points — overhead = 1 − proxy TPS / direct TPS of the same round, so machine
 *   drift cancels; what remains is per-round noise of two ±few-% throughputs.
 * - errors: gate at 0 — any error during a run fails it unless the suite sets allowErrors.
 * - latency_avg_ms (10%), latency_p99_ms (20%), peak_rss_mb (10%) warn only: avg duplicates
 *   tps for a closed-loop driver, p99 over a short run has too few samples to gate, and memory
 *   is worth noticing but not blocking.
 */
/**
 * The work channel's counts per query, measured under valgrind over windows of a fixed event
 * count. They hardly depend on the machine's speed or load (absolute: false), mostly on the
 * software stack (see countFingerprintDifferences), so their thresholds come from the spread of
 * identical runs, not from a machine's noise. Measured on this project's 2-core machine class,
 * Athena at sysbench point select, 1 client thread, 5,000-event windows, 8 kept windows per arm
 * (docs/ACCURACY.md has the tables): instructions per query of kept windows move about ±0.5%
 * (the odd window with a major GC +2%), two processes started alike differ by up to 0.5%, and the
 * A/A intervals reach ±1.1%. Hence:
 * - instructions_per_query: 1% — at the A/A spread, no A/A interval lay wholly beyond it (no
 *   false alarm) and every 2% injection was caught; a 1% change lands on the threshold and is
 *   inconclusive more often than not. Against a committed baseline 3%: a process's counts drift
 *   by up to 2.5% between runs minutes apart (one A/A trial read −2.5%), more than two processes
 *   measured side by side ever differ.
 * - syscalls_per_query: 5% — every system call but clock reads (callgrind's sysCount). Athena
 *   makes 6.4-6.7 per point select: its 4.04 reads and writes, exact, and 2.4-2.6 epoll_pwait,
 *   whose count depends on whether the next packet is already there when the event loop polls
 *   (kept windows ±0.7-3.2%, six A/A pairs −1.0% to +1.5%). One extra write or flush per query is
 *   +15%, far beyond 5%; an A/A interval does not reach it.
 * - backend_round_trips_per_query: 1% — exact counts (1.00 per query for point select): any extra
 *   command to MySQL per query is a change far beyond it.
 * - bytes_per_query: 2%, warn only — bytes follow the workload's data more than the proxy's code.
 */
const WORK_METRIC_DEFAULTS: Record<WorkMetricName, MetricSpec> = {
  instructions_per_query: {
    ...spec(
      'instructions_per_query',
      'instructions/query',
      'instr',
      'lower-better',
      'relative',
      1,
      'gate',
      false,
    ),
    baselineThresholdPct: 3,
    // Nine settled base-vs-head A/A trials (quick windows, docs/ACCURACY.md) differed by −0.24% to
    // +0.63%, standard deviation 0.25%: what two processes started alike differ by.
    noiseFloorPct: 0.25,
  },
  // Six A/A pairs of Athena (point select, 5,000-event windows, 8 kept) differed by −1.04% to
  // +1.5%, standard deviation 1.0%: epoll_pwait's share moves with timing (docs/ACCURACY.md).
  syscalls_per_query: {
    ...spec('syscalls_per_query', 'syscalls/query', 'calls', 'lower-better', 'relative', 5, 'gate', false),
    noiseFloorPct: 1,
  },
  // Exact: 1.00 per point select in every window of every process.
  backend_round_trips_per_query: {
    ...spec(
      'backend_round_trips_per_query',
      'MySQL round trips/query',
      'trips',
      'lower-better',
      'relative',
      1,
      'gate',
      false,
    ),
    noiseFloorPct: 0.05,
  },
  bytes_per_query: {
    ...spec('bytes_per_query', 'MySQL bytes/query', 'B', 'lower-better', 'relative', 2, 'warn', false),
    noiseFloorPct: 0.1,
  },
};

export const METRIC_DEFAULTS: Record<MetricName, MetricSpec> = {
  tps: spec('tps', 'TPS', 'tx/s', 'higher-better', 'relative', 10, 'gate', true),
  qps: spec('qps', 'QPS', 'q/s', 'higher-better', 'relative', 10, 'gate', true),
  latency_avg_ms: spec('latency_avg_ms', 'avg latency', 'ms', 'lower-better', 'relative', 10, 'warn', true),
  latency_p95_ms: spec('latency_p95_ms', 'p95 latency', 'ms', 'lower-better', 'relative', 15, 'gate', true),
  latency_p99_ms: spec('latency_p99_ms', 'p99 latency', 'ms', 'lower-better', 'relative', 20, 'warn', true),
  cpu_us_per_query: spec(
    'cpu_us_per_query',
    'proxy CPU/query',
    'µs',
    'lower-better',
    'relative',
    2,
    'gate',
    true,
  ),
  peak_rss_mb: spec('peak_rss_mb', 'peak RSS', 'MB', 'lower-better', 'relative', 10, 'warn', false),
  overhead_pct: spec('overhead_pct', 'overhead', '%', 'lower-better', 'points', 5, 'gate', false),
  // Warn only by default: under saturation (more client threads than cores) the difference of two
  // p95s is queueing, not the proxy. The latency workload, below the core count, gates it.
  added_latency_p95_ms: spec(
    'added_latency_p95_ms',
    'added p95 latency',
    'ms',
    'lower-better',
    'relative',
    25,
    'warn',
    false,
  ),
  errors: spec('errors', 'errors', '', 'lower-better', 'count', 0, 'gate', false),
  ...WORK_METRIC_DEFAULTS,
};

function spec(
  metric: MetricName,
  label: string,
  unit: string,
  direction: Direction,
  scale: Scale,
  thresholdPct: number,
  policy: Policy,
  absolute: boolean,
): MetricSpec {
  return { metric, label, unit, direction, scale, thresholdPct, policy, absolute };
}

export const METRIC_NAMES = Object.keys(METRIC_DEFAULTS) as MetricName[];

/**
 * The metric specs for one workload: defaults (the committed-baseline ones against a baseline)
 * with the suite's per-workload overrides applied.
 */
export function metricSpecsFor(
  workload: { metrics: Partial<Record<MetricName, { thresholdPct?: number; policy?: Policy }>> } | undefined,
  mode: 'arms' | 'baseline' = 'arms',
): MetricSpec[] {
  return METRIC_NAMES.map((name) => {
    const base = METRIC_DEFAULTS[name];
    const override = workload?.metrics[name];
    const threshold =
      mode === 'baseline' ? (base.baselineThresholdPct ?? base.thresholdPct) : base.thresholdPct;
    return {
      ...base,
      thresholdPct: override?.thresholdPct ?? threshold,
      policy: override?.policy ?? base.policy,
    };
  });
}

/** Metrics gated by default. */
export function gatedByDefault(): MetricName[] {
  return METRIC_NAMES.filter((m) => METRIC_DEFAULTS[m].policy === 'gate');
}
