import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UsageError } from '../util/errors.ts';
import {
  EnvironmentSchema,
  FunctionDeltaSchema,
  armSamples,
  directArmName,
  type Environment,
  type Results,
  type WorkloadResult,
} from '../results/schema.ts';
import { MetricNameSchema } from '../model/metrics.ts';
import { SuiteSchema } from '../suite/schema.ts';
import { median } from '../model/stats.ts';
import { formatIssues } from '../util/zodPath.ts';
import { parseJson, readTextFile } from '../util/versionedJson.ts';

/**
 * A baseline: what a proxy measured on a known machine, kept in git (baselines/*.json) and
 * compared against by later runs. Versioned: a file of another schemaVersion is refused with the
 * command that regenerates it, never guessed at.
 */
export const BASELINE_SCHEMA_VERSION = 1;

const SampleSetSchema = z.object({
  samples: z.array(z.number()).min(1),
  median: z.number(),
});
export type SampleSet = z.infer<typeof SampleSetSchema>;

const BaselineArmSchema = z.object({
  role: z.enum(['direct', 'proxy', 'reference', 'base']),
  metrics: z.partialRecord(MetricNameSchema, SampleSetSchema),
  /** Per round: proxy CPU µs/query relative to the direct arm's machine time per query (see compare.ts). */
  cpuRelativeToDirect: SampleSetSchema.optional(),
  /** The work channel's heaviest functions per query: what "where the instructions went" diffs against. */
  topFunctions: z.array(FunctionDeltaSchema).optional(),
  /**
   * What its syscalls_per_query samples counted: `all`, every system call but clock reads
   * (callgrind); absent in baselines recorded before, whose samples are the read/write family only
   * (/proc syscr + syscw) and not comparable with the new count.
   */
  syscallsCounted: z.literal('all').optional(),
});
export type BaselineArm = z.infer<typeof BaselineArmSchema>;

const BaselineWorkloadSchema = z.object({
  id: z.string(),
  title: z.string(),
  driver: z.string(),
  threads: z.number().int(),
  arms: z.record(z.string(), BaselineArmSchema),
});
export type BaselineWorkload = z.infer<typeof BaselineWorkloadSchema>;

export const BaselineSchema = z.object({
  schemaVersion: z.literal(BASELINE_SCHEMA_VERSION),
  kind: z.literal('athena-bench-baseline'),
  /** Commit of the proxy the samples came from (null when unknown). */
  commit: z.string().nullable(),
  /** When the measured run started (ISO 8601). */
  date: z.string(),
  source: z.object({ toolVersion: z.string(), resultsStartedAt: z.string() }),
  suite: SuiteSchema,
  environment: EnvironmentSchema,
  workloads: z.array(BaselineWorkloadSchema),
});
export type Baseline = z.infer<typeof BaselineSchema>;

/** The environment fields whose change makes absolute metrics (TPS, QPS, latency) incomparable. */
export interface EnvironmentDifference {
  field: 'cpuModel' | 'cores' | 'mysqlVersion' | 'sysbenchVersion' | 'mysqlslapVersion';
  baseline: string;
  current: string;
}

export function environmentDifferences(baseline: Environment, current: Environment): EnvironmentDifference[] {
  const fields = ['cpuModel', 'cores', 'mysqlVersion', 'sysbenchVersion', 'mysqlslapVersion'] as const;
  const out: EnvironmentDifference[] = [];
  for (const field of fields) {
    const a = baseline[field];
    const b = current[field];
    // A driver that one side did not have cannot have produced a sample there: not a difference.
    if ((field === 'sysbenchVersion' || field === 'mysqlslapVersion') && (a === null || b === null)) continue;
    if (String(a) !== String(b)) out.push({ field, baseline: String(a), current: String(b) });
  }
  return out;
}

/**
 * What instruction and system-call counts depend on: the software, not the machine's speed. A
 * baseline of counts recorded on one CPU model gates on another when these match (the CPU model is
 * kept as information only).
 */
export interface CountFingerprintDifference {
  field: 'node' | 'valgrindVersion' | 'glibcVersion' | 'mysqlVersion' | 'sysbenchVersion';
  baseline: string;
  current: string;
}

export function countFingerprintDifferences(
  baseline: Environment,
  current: Environment,
): CountFingerprintDifference[] {
  const fields = ['node', 'valgrindVersion', 'glibcVersion', 'mysqlVersion', 'sysbenchVersion'] as const;
  return fields
    .filter((field) => String(baseline[field]) !== String(current[field]))
    .map((field) => ({ field, baseline: String(baseline[field]), current: String(current[field]) }));
}

/**
 * Per round: 100 × proxy CPU µs per query ÷ the direct arm's machine time per query
 * (cores × 10⁶ / direct QPS of the same round). It says what share of the work MySQL and its client
 * do per query the proxy adds in CPU; a faster or slower CPU scales both, so it survives a change
 * of machine where raw µs/query does not.
 */
export function cpuRelativeToDirectSamples(
  workload: WorkloadResult,
  arm: string,
  cores: number,
  directArm = 'direct',
): number[] {
  const directQps = new Map<number, number>();
  for (const s of workload.samples) if (s.arm === directArm) directQps.set(s.round, s.metrics.qps);
  const out: { round: number; value: number }[] = [];
  for (const s of workload.samples) {
    if (s.arm !== arm) continue;
    const cpu = s.proxy?.cpuUsPerQuery;
    const qps = directQps.get(s.round);
    if (cpu === null || cpu === undefined || !qps || cores <= 0) continue;
    out.push({ round: s.round, value: (100 * cpu * qps) / (1e6 * cores) });
  }
  return out.sort((a, b) => a.round - b.round).map((o) => o.value);
}

function sampleSet(samples: number[]): SampleSet | undefined {
  return samples.length > 0 ? { samples, median: median(samples) } : undefined;
}

/** A baseline from a complete results file; every arm, workload and metric with samples is kept. */
export function baselineFromResults(
  results: Results,
  meta: { commit?: string; date?: string } = {},
): Baseline {
  if (results.status !== 'complete') {
    throw new UsageError(
      `the results file is from a failed run (${results.failure ?? 'no reason recorded'}); a baseline needs a complete run`,
    );
  }
  const direct = directArmName(results);
  const workloads: BaselineWorkload[] = [];
  for (const w of results.workloads) {
    if (w.skipped !== null || (w.samples.length === 0 && w.work === null)) continue;
    const arms: Record<string, BaselineArm> = {};
    for (const arm of results.arms) {
      if (!w.samples.some((s) => s.arm === arm.name) && !w.work?.arms[arm.name]) continue;
      const metrics: BaselineArm['metrics'] = {};
      for (const [metric, samples] of armSamples(w, arm.name, direct)) {
        metrics[metric] = { samples, median: median(samples) };
      }
      const cpuRel =
        arm.name === direct
          ? undefined
          : sampleSet(cpuRelativeToDirectSamples(w, arm.name, results.environment.cores, direct));
      const topFunctions = w.work?.arms[arm.name]?.topFunctions;
      arms[arm.name] = {
        role: arm.role,
        metrics,
        ...(cpuRel ? { cpuRelativeToDirect: cpuRel } : {}),
        ...(topFunctions?.length ? { topFunctions } : {}),
        ...(metrics.syscalls_per_query ? { syscallsCounted: 'all' as const } : {}),
      };
    }
    workloads.push({ id: w.id, title: w.title, driver: w.driver, threads: w.threads, arms });
  }
  if (workloads.length === 0)
    throw new UsageError('the results file has no measured workload to make a baseline of');
  return {
    schemaVersion: BASELINE_SCHEMA_VERSION,
    kind: 'athena-bench-baseline',
    commit: meta.commit ?? results.git.commit ?? null,
    date: meta.date ?? results.startedAt,
    source: { toolVersion: results.tool.version, resultsStartedAt: results.startedAt },
    suite: results.suite,
    environment: results.environment,
    workloads,
  };
}

/** Parses baseline JSON text; errors name the file and the field. */
export function parseBaseline(text: string, file: string): Baseline {
  const data = parseJson(text, file);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UsageError(`${file}: expected a JSON object (an athena-bench baseline)`);
  }
  const version = (data as { schemaVersion?: unknown }).schemaVersion;
  if (version !== BASELINE_SCHEMA_VERSION) {
    throw new UsageError(
      `${file}: schemaVersion ${JSON.stringify(version)} is not supported (expected ${BASELINE_SCHEMA_VERSION}); ` +
        'regenerate it with `athena-bench baseline --results results.json --out ' +
        file +
        '`',
    );
  }
  const parsed = BaselineSchema.safeParse(data);
  if (!parsed.success) {
    throw new UsageError(`${file}: invalid baseline: ${formatIssues(parsed.error.issues)}`);
  }
  return parsed.data;
}

export async function loadBaseline(file: string): Promise<Baseline> {
  return parseBaseline(await readTextFile(file, 'baseline file'), file);
}

export async function writeBaseline(file: string, baseline: Baseline): Promise<void> {
  const checked = BaselineSchema.parse(baseline);
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, `${JSON.stringify(checked, null, 2)}\n`);
}

/**
 * Rounds behind a baseline (the fewest over its workloads' proxy arms): the reference sample size
 * to pass to plannedRoundsWarning before a run against it.
 */
export function baselineRounds(baseline: Baseline): number {
  const counts = baseline.workloads.map((w) => {
    const arm = Object.values(w.arms).find((a) => a.role === 'proxy') ?? Object.values(w.arms)[0];
    return arm?.metrics.tps?.samples.length ?? 0;
  });
  return counts.length ? Math.min(...counts) : 0;
}
