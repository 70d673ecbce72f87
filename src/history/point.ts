import { createHash } from 'node:crypto';
import { UsageError } from '../util/errors.ts';
import { armSamples, directArmName, type Environment, type Results } from '../results/schema.ts';
import { median, quantile } from '../model/stats.ts';
import {
  HistoryPointSchema,
  type EnvironmentFingerprint,
  type HistoryArm,
  type HistoryPoint,
  type MetricSummary,
} from './schema.ts';

export function summarise(samples: readonly number[]): MetricSummary {
  return {
    median: median(samples),
    n: samples.length,
    min: Math.min(...samples),
    max: Math.max(...samples),
    q1: quantile(samples, 0.25),
    q3: quantile(samples, 0.75),
  };
}

/**
 * Everything about the machine that moves absolute numbers (CPU, cores, kernel, Node, MySQL,
 * drivers) or the work channel's counts (valgrind, the C library), hashed: two points with one
 * fingerprint ran on the same kind of machine.
 */
export function fingerprintEnvironment(env: Environment): EnvironmentFingerprint {
  const fields = [
    env.cpuModel,
    env.cores,
    env.os,
    env.kernel,
    env.node,
    env.mysqlVersion,
    env.sysbenchVersion,
    env.mysqlslapVersion,
    env.valgrindVersion,
    env.glibcVersion,
  ];
  const fingerprint = createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 12);
  return { fingerprint, cpuModel: env.cpuModel, cores: env.cores, mysqlVersion: env.mysqlVersion };
}

/**
 * One history point from a complete run: per workload, arm and metric the summary of the rounds'
 * samples. Every metric the results define is taken (METRIC_NAMES), so a metric added there is
 * recorded without a change of the store's format.
 */
export function pointFromResults(
  results: Results,
  meta: { commit?: string; runUrl?: string } = {},
): HistoryPoint {
  if (results.status !== 'complete') {
    throw new UsageError(
      `the run failed (${results.failure ?? 'no reason recorded'}); only complete runs enter the history`,
    );
  }
  const commit = meta.commit ?? results.git.commit;
  if (!commit) {
    throw new UsageError('the results record no commit; give the measured commit with --commit SHA');
  }
  const direct = directArmName(results);
  const workloads: HistoryPoint['workloads'] = {};
  for (const w of results.workloads) {
    // A work-only run has counts but no timed samples: every metric with samples is kept.
    if (w.skipped !== null) continue;
    const arms: Record<string, HistoryArm> = {};
    for (const arm of results.arms) {
      const metrics: HistoryArm['metrics'] = {};
      for (const [metric, samples] of armSamples(w, arm.name, direct)) {
        metrics[metric] = summarise(samples);
      }
      if (Object.keys(metrics).length > 0) arms[arm.name] = { role: arm.role, metrics };
    }
    if (Object.keys(arms).length > 0) workloads[w.id] = { arms };
  }
  if (Object.keys(workloads).length === 0) {
    throw new UsageError('the results have no measured workload to add to the history');
  }
  const point = {
    commit: commit.toLowerCase(),
    ref: results.git.ref,
    time: results.startedAt,
    toolVersion: results.tool.version,
    runUrl: meta.runUrl ?? null,
    environment: fingerprintEnvironment(results.environment),
    workloads,
  };
  const parsed = HistoryPointSchema.safeParse(point);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`cannot make a history point: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}
