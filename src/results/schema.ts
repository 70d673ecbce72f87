import { z } from 'zod';
import { MEASURES } from '../model/channel.ts';
import {
  METRIC_NAMES,
  isPairedMetric,
  isWorkMetric,
  type MetricName,
  type PairedMetricName,
  type WorkMetricName,
} from '../model/metrics.ts';
import { SuiteSchema } from '../suite/schema.ts';

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

/** One measured window of the work channel: a fixed number of the driver's events through one arm. */
export const WorkWindowSchema = z.object({
  events: z.number().int().positive(),
  /** Queries the driver counted in the window: the denominator of every per-query count. */
  queries: z.number().int().nonnegative(),
  /** Instructions the proxy's process tree executed (callgrind's Ir), start-up and shutdown excluded. */
  instructions: z.number().nonnegative(),
  /**
   * Read and write system calls of the proxy's process tree (/proc/<pid>/io syscr + syscw): the
   * read/write family only (recvfrom, sendto, epoll are not in it). What syscalls_per_query was
   * counted from before allSyscalls; kept as a cross-check.
   */
  syscalls: z.number().nonnegative(),
  /**
   * Every system call of the proxy's process tree other than clock reads (callgrind's sysCount,
   * src/work/syscalls.ts): what syscalls_per_query counts. Null in files written before it.
   */
  allSyscalls: nullableNumber.default(null),
  /** Clock reads (clock_gettime, gettimeofday…): system calls under valgrind only, vDSO calls natively. */
  clockReads: nullableNumber.default(null),
  /** Threads of the proxy's process tree at the window's end (/proc/<pid>/status). */
  threads: nullableNumber.default(null),
  /** Commands the proxy sent to MySQL (its round-trip counter), when its metrics expose one. */
  backendRoundTrips: nullableNumber.default(null),
  /** Bytes between the proxy and MySQL, both directions, when its metrics expose them. */
  backendBytes: nullableNumber.default(null),
  wallSec: z.number().nonnegative(),
});
export type WorkWindow = z.infer<typeof WorkWindowSchema>;

export const FunctionDeltaSchema = z.object({
  name: z.string(),
  object: z.string(),
  /** Self instructions per query (kept windows, averaged). */
  irPerQuery: z.number(),
});

/** The work channel's measurement of one arm on one workload. */
export const WorkArmSchema = z.object({
  windows: z.array(WorkWindowSchema),
  /** Index of the first window kept; earlier ones were discarded while the process settled. */
  firstKept: z.number().int().nonnegative(),
  settled: z.boolean(),
  /** The kept windows' instructions/query range, in % of their median. */
  spreadPct: nullableNumber,
  /** The heaviest functions per query in the kept windows (JIT code named from V8's perf map). */
  topFunctions: z.array(FunctionDeltaSchema).default([]),
  /** System calls per query by name over the kept windows, clock reads included, most frequent first. */
  topSyscalls: z
    .array(z.object({ name: z.string(), perQuery: z.number(), clockRead: z.boolean() }))
    .default([]),
  /** The kept windows' profile, merged and symbolised (KCachegrind opens it), relative to the results dir. */
  profile: z.string().nullable().default(null),
});
export type WorkArm = z.infer<typeof WorkArmSchema>;

export const WorkloadWorkSchema = z.object({
  /** Client threads of the work channel (low and fixed, whatever the workload's own threads). */
  threads: z.number().int().positive(),
  eventsPerWindow: z.number().int().positive(),
  arms: z.record(z.string(), WorkArmSchema),
});
export type WorkloadWork = z.infer<typeof WorkloadWorkSchema>;

export const WorkloadResultSchema = z.object({
  id: z.string(),
  title: z.string(),
  driver: z.string(),
  threads: z.number().int(),
  /** Why the workload did not run (missing binary…); samples are then empty. */
  skipped: z.string().nullable().default(null),
  samples: z.array(RoundSampleSchema),
  /** The work channel's counts (runs with --measure work or both), else null. */
  work: WorkloadWorkSchema.nullable().default(null),
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
  /** What instruction counts depend on (the work channel): valgrind and the C library. */
  valgrindVersion: z.string().nullable().default(null),
  glibcVersion: z.string().nullable().default(null),
});
export type Environment = z.infer<typeof EnvironmentSchema>;

/** A shard's share of a suite (athena-bench run --shard i/n): what the merge checks and orders by. */
export const ShardRecordSchema = z.object({
  index: z.number().int().positive(),
  count: z.number().int().positive(),
  /** sha256 of the canonical JSON of the whole suite as run (src/gate/shard.ts). */
  suiteHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Every workload id of the whole suite, in suite order. */
  suiteWorkloads: z.array(z.string()).min(1),
  /** What the shard was judged against: every shard of one merge must agree. */
  reference: z.object({
    kind: z.enum(['baseline', 'base-ref', 'none']),
    /** The baseline's commit, or the base arm's. */
    commit: z.string().nullable(),
  }),
});
export type ShardRecord = z.infer<typeof ShardRecordSchema>;

/** One shard of a merged run (athena-bench merge): its machine and when it ran. */
export const MergedShardSchema = z.object({
  index: z.number().int().positive(),
  workloads: z.array(z.string()),
  startedAt: z.string(),
  finishedAt: z.string(),
  environment: EnvironmentSchema,
});
export type MergedShard = z.infer<typeof MergedShardSchema>;

/** Wall time of one phase of a run (set-up, a workload's prepare or rounds, teardown): where the time went. */
export const PhaseSchema = z.object({
  name: z.string(),
  workload: z.string().optional(),
  arm: z.string().optional(),
  startedAt: z.string(),
  seconds: z.number().nonnegative(),
});
export type Phase = z.infer<typeof PhaseSchema>;

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
  /** Which channels were measured: time (TPS, latency, CPU time), work (counts per query), or both. */
  measure: z.enum(MEASURES).default('time'),
  workloads: z.array(WorkloadResultSchema),
  environment: EnvironmentSchema,
  warnings: z.array(z.string()).default([]),
  /** Set when this run was one shard of the suite. */
  shard: ShardRecordSchema.optional(),
  /** Set on merged results: each shard's environment (shards may run on different machines). */
  shards: z.array(MergedShardSchema).optional(),
  /** Wall time of each phase, in the order the phases started. */
  phases: z.array(PhaseSchema).optional(),
});
export type Results = z.infer<typeof ResultsSchema>;

/** The name of the run's direct-MySQL arm (the control every proxy is measured against). */
export function directArmName(results: Pick<Results, 'arms'>): string {
  return results.arms.find((a) => a.role === 'direct')?.name ?? 'direct';
}

/** One number per round for a metric of an arm: what statistics and reports are computed from. */
export function metricValue(
  sample: RoundSample,
  metric: Exclude<MetricName, PairedMetricName | WorkMetricName>,
): number | null {
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
 * The per-round samples of one metric for one arm of a workload, in round order. The paired
 * metrics are computed per round against the direct arm of the same round: overhead_pct is
 * 100 × (1 − arm TPS / direct TPS), added_latency_p95_ms is arm p95 − direct p95.
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
  if (isWorkMetric(metric)) return workSamples(workload, arm, metric);
  const armRounds = byRound(arm);
  const rounds = [...armRounds.keys()].sort((a, b) => a - b);
  if (isPairedMetric(metric)) {
    const direct = byRound(directArm);
    return rounds.flatMap((r) => {
      const value = pairedValue(metric, armRounds.get(r)!, direct.get(r));
      return value === null ? [] : [value];
    });
  }
  return rounds.flatMap((r) => {
    const v = metricValue(armRounds.get(r)!, metric);
    return v === null ? [] : [v];
  });
}

function pairedValue(
  metric: PairedMetricName,
  arm: RoundSample,
  direct: RoundSample | undefined,
): number | null {
  if (!direct) return null;
  if (metric === 'overhead_pct') {
    return direct.metrics.tps ? 100 * (1 - arm.metrics.tps / direct.metrics.tps) : null;
  }
  const a = arm.metrics.latencyMs.p95;
  const d = direct.metrics.latencyMs.p95;
  return a === null || d === null ? null : a - d;
}

/**
 * Every metric's samples of one arm of a workload, the metrics without samples left out (and the
 * paired ones for the direct arm itself): what a baseline and a history point each summarise.
 */
export function armSamples(
  workload: WorkloadResult,
  arm: string,
  directArm: string,
): Array<[MetricName, number[]]> {
  return METRIC_NAMES.filter((metric) => !(isPairedMetric(metric) && arm === directArm))
    .map((metric): [MetricName, number[]] => [metric, metricSamples(workload, arm, metric, directArm)])
    .filter(([, samples]) => samples.length > 0);
}

/** Per kept window of the work channel: one count per query for an arm of a workload. */
export function workSamples(workload: WorkloadResult, arm: string, metric: WorkMetricName): number[] {
  const measured = workload.work?.arms[arm];
  if (!measured) return [];
  return measured.windows.slice(measured.firstKept).flatMap((w) => {
    if (w.queries <= 0) return [];
    const count =
      metric === 'instructions_per_query'
        ? w.instructions
        : metric === 'syscalls_per_query'
          ? w.allSyscalls
          : metric === 'backend_round_trips_per_query'
            ? w.backendRoundTrips
            : w.backendBytes;
    return count === null ? [] : [count / w.queries];
  });
}

/** How many rounds a workload has samples for: of one arm, or of any arm. */
export function roundsOf(workload: WorkloadResult, arm?: string): number {
  const samples = arm === undefined ? workload.samples : workload.samples.filter((s) => s.arm === arm);
  return new Set(samples.map((s) => s.round)).size;
}
