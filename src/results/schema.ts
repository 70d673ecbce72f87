import { z } from 'zod';
import { SuiteSchema, type MetricName } from '../suite/schema.ts';

/**
 * results.json: everything a run measured, enough to recompute any report or verdict.
 * Versioned: a file of another schemaVersion is rejected with a clear error, never guessed at.
 */
export const RESULTS_SCHEMA_VERSION = 1;

const nullableNumber = z.number().nullable();

/** What one driver run (one workload, one arm, one round) measured. */
export const DriverMetricsSchema = z.object({
  durationSec: z.number().nonnegative(),
  transactions: z.number().nonnegative(),
  tps: z.number().nonnegative(),
  queries: z.number().nonnegative(),
  qps: z.number().nonnegative(),
  queriesRead: nullableNumber.default(null),
  queriesWrite: nullableNumber.default(null),
  queriesOther: nullableNumber.default(null),
  latencyMs: z.object({
    min: nullableNumber,
    avg: nullableNumber,
    max: nullableNumber,
    p95: nullableNumber,
    p99: nullableNumber,
  }),
  errors: z.number().int().nonnegative(),
  reconnects: z.number().int().nonnegative().default(0),
  /** Intermediate reports (sysbench --report-interval), for charts and live progress. */
  intervals: z
    .array(
      z.object({
        tSec: z.number(),
        tps: z.number(),
        qps: z.number(),
        latencyMs: nullableNumber.default(null),
        errors: z.number().default(0),
      }),
    )
    .default([]),
});
export type DriverMetrics = z.infer<typeof DriverMetricsSchema>;

/** Resource use of the proxy process tree during one measured run. */
export const ProxyUsageSchema = z.object({
  cpuSeconds: z.number().nonnegative(),
  cpuUsPerQuery: nullableNumber,
  peakRssMb: z.number().nonnegative(),
  /** Deltas of the proxy's Prometheus counters over the run (name{labels} -> delta). */
  metricsDelta: z.record(z.string(), z.number()).optional(),
  /** athena_queries_total delta vs the driver's query count; fails the run when too low. */
  trafficCheck: z
    .object({ expectedQueries: z.number(), observedQueries: z.number(), ok: z.boolean() })
    .optional(),
});
export type ProxyUsage = z.infer<typeof ProxyUsageSchema>;

export const RoundSampleSchema = z.object({
  arm: z.string(),
  round: z.number().int().nonnegative(),
  /** Position of this arm in the round's order (ABBA interleaving). */
  position: z.number().int().nonnegative(),
  startedAt: z.string(),
  metrics: DriverMetricsSchema,
  proxy: ProxyUsageSchema.nullable().default(null),
  /** CPU used by the load generator itself (builtin driver), so nobody mistakes it for the proxy's. */
  loadGeneratorCpuUsPerQuery: nullableNumber.default(null),
  /** Share of one core the harness (this process) used during the measured window. */
  harnessCpuShare: nullableNumber.default(null),
});
export type RoundSample = z.infer<typeof RoundSampleSchema>;

export const ArmSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  role: z.enum(['direct', 'proxy', 'reference', 'base']),
  host: z.string(),
  port: z.number().int(),
  /** Start command of the proxy (passwords removed); absent for direct. */
  command: z.string().optional(),
  /** Proxy config with secrets removed, when the gate generated it. */
  config: z.string().optional(),
  /** Commit the arm was built from (base-vs-head mode). */
  commit: z.string().optional(),
});
export type Arm = z.infer<typeof ArmSchema>;

export const WorkloadResultSchema = z.object({
  id: z.string(),
  title: z.string(),
  driver: z.string(),
  threads: z.number().int(),
  /** Why the workload did not run (missing binary…); samples are then empty. */
  skipped: z.string().nullable().default(null),
  samples: z.array(RoundSampleSchema),
});
export type WorkloadResult = z.infer<typeof WorkloadResultSchema>;

export const EnvironmentSchema = z.object({
  cpuModel: z.string(),
  cores: z.number().int(),
  memoryBytes: z.number(),
  kernel: z.string(),
  os: z.string(),
  runner: z.record(z.string(), z.string()).default({}),
  node: z.string(),
  mysqlVersion: z.string(),
  sysbenchVersion: z.string().nullable().default(null),
  mysqlslapVersion: z.string().nullable().default(null),
  ulimitNofile: z.number().nullable().default(null),
  somaxconn: z.number().nullable().default(null),
});
export type Environment = z.infer<typeof EnvironmentSchema>;

export const ResultsSchema = z.object({
  schemaVersion: z.literal(RESULTS_SCHEMA_VERSION),
  tool: z.object({ name: z.literal('athena-bench'), version: z.string() }),
  startedAt: z.string(),
  finishedAt: z.string(),
  git: z
    .object({ commit: z.string().nullable(), ref: z.string().nullable() })
    .default({ commit: null, ref: null }),
  status: z.enum(['complete', 'failed']),
  failure: z.string().nullable().default(null),
  suite: SuiteSchema,
  arms: z.array(ArmSchema).min(1),
  workloads: z.array(WorkloadResultSchema),
  environment: EnvironmentSchema,
  warnings: z.array(z.string()).default([]),
});
export type Results = z.infer<typeof ResultsSchema>;

/** One number per round for a metric of an arm: what statistics and reports are computed from. */
export function metricValue(sample: RoundSample, metric: Exclude<MetricName, 'overhead_pct'>): number | null {
  const m = sample.metrics;
  switch (metric) {
    case 'tps':
      return m.tps;
    case 'qps':
      return m.qps;
    case 'latency_avg_ms':
      return m.latencyMs.avg;
    case 'latency_p95_ms':
      return m.latencyMs.p95;
    case 'latency_p99_ms':
      return m.latencyMs.p99;
    case 'cpu_us_per_query':
      return sample.proxy?.cpuUsPerQuery ?? null;
    case 'peak_rss_mb':
      return sample.proxy?.peakRssMb ?? null;
    case 'errors':
      return m.errors;
  }
}

/**
 * The per-round samples of one metric for one arm of a workload, in round order. overhead_pct is
 * computed per round against the direct arm of the same round: 100 × (1 − arm TPS / direct TPS).
 */
export function metricSamples(
  workload: WorkloadResult,
  arm: string,
  metric: MetricName,
  directArm = 'direct',
): number[] {
  const byRound = (name: string) => {
    const map = new Map<number, RoundSample>();
    for (const s of workload.samples) if (s.arm === name) map.set(s.round, s);
    return map;
  };
  const armRounds = byRound(arm);
  const rounds = [...armRounds.keys()].sort((a, b) => a - b);
  if (metric === 'overhead_pct') {
    const direct = byRound(directArm);
    return rounds.flatMap((r) => {
      const d = direct.get(r)?.metrics.tps;
      const a = armRounds.get(r)?.metrics.tps;
      return d && a !== undefined ? [100 * (1 - a / d)] : [];
    });
  }
  return rounds.flatMap((r) => {
    const v = metricValue(armRounds.get(r)!, metric);
    return v === null ? [] : [v];
  });
}
