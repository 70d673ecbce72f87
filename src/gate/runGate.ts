import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runBenchmark, type EngineDeps, type RunOptions, type RunOutcome } from '../engine/run.ts';
import { renderMeasurementReport } from '../report/markdown.ts';
import type { Results, ShardRecord } from '../results/schema.ts';
import { compareArms, compareToBaseline, type Comparison } from '../verdict/compare.ts';
import { renderHtmlReport } from '../report/html.ts';
import { renderComparisonMarkdown } from '../report/comparison.ts';
import { createMoreRoundsHook } from '../verdict/rounds.ts';
import { diskFiles, preflightGate } from './preflight.ts';
import type { Reference } from './reference.ts';
import { shardSuite, type Shard } from './shard.ts';

/**
 * The gate: measure, judge, report. `athena-bench run` and the Action are two doors to this one
 * orchestration; each only turns its own inputs into a GateRequest and the outcome into its own
 * output (a terminal and an exit code; a job summary, a comment and outputs).
 */

export interface GateRequest extends Omit<RunOptions, 'moreRounds'> {
  reference: Reference;
  /** Run only this shard's share of the suite (src/gate/shard.ts); results.json records it. */
  shard?: Shard;
}

export interface GateOutcome extends RunOutcome {
  /** null when there is nothing to judge against (a measurement only). */
  comparison: Comparison | null;
  htmlPath: string;
}

/**
 * Runs the benchmark with the reference's adaptive-rounds hook, judges the results, and writes
 * report.md (the verdict first) and report.html next to results.json.
 */
export async function runGate(request: GateRequest, deps: EngineDeps): Promise<GateOutcome> {
  for (const warning of preflightGate(request, diskFiles)) deps.log(`warning: ${warning}`);
  const { reference, shard, ...options } = request;
  const sharded = shard
    ? shardSuite(options.suite, shard, referenceRecord(reference), {
        ...(options.rounds !== undefined ? { rounds: options.rounds } : {}),
        ...(options.durationSec !== undefined ? { durationSec: options.durationSec } : {}),
      })
    : null;
  if (sharded) {
    const ids = sharded.suite.workloads.map((w) => w.id).join(', ');
    deps.log(`shard ${shard!.index}/${shard!.count}: ${ids}`);
  }
  let moreRounds = moreRoundsFor(reference, deps.log);
  if (moreRounds && sharded) {
    // A shard's adaptive rounds judge with the whole suite's Holm family, as the merged verdict will.
    const hook = moreRounds;
    const whole = options.suite.workloads;
    moreRounds = (w, results, budget) =>
      hook(w, { ...results, suite: { ...results.suite, workloads: whole } }, budget);
  }
  let outcome: RunOutcome;
  try {
    outcome = await runBenchmark(
      { ...options, ...(sharded ? { suite: sharded.suite } : {}), ...(moreRounds ? { moreRounds } : {}) },
      deps,
    );
  } catch (error) {
    // A failed shard's results.json must still say which shard it is, for the merge to name it.
    if (sharded) markShard(path.join(path.resolve(options.outDir), 'results.json'), sharded.record);
    throw error;
  }
  if (sharded) {
    outcome = { ...outcome, results: { ...outcome.results, shard: sharded.record } };
    writeFileSync(outcome.resultsPath, `${JSON.stringify(outcome.results, null, 2)}\n`);
  }
  const comparison = judge(reference, outcome.results);
  const written = writeReports(outcome.results, comparison, outcome.reportPath, outcome.reportMarkdown);
  return { ...outcome, ...written, comparison };
}

/**
 * report.md (the verdict first, when there is one) at reportPath and report.html next to it.
 * `measurementOnly` is the report without a verdict, used as is when there is nothing to judge.
 */
export function writeReports(
  results: Results,
  comparison: Comparison | null,
  reportPath: string,
  measurementOnly: string = renderMeasurementReport(results),
): { reportMarkdown: string; htmlPath: string } {
  const reportMarkdown = comparison
    ? renderMeasurementReport(results, renderComparisonMarkdown(comparison))
    : measurementOnly;
  writeFileSync(reportPath, reportMarkdown);
  const htmlPath = path.join(path.dirname(reportPath), 'report.html');
  writeFileSync(htmlPath, renderHtmlReport(results, comparison ?? undefined));
  return { reportMarkdown, htmlPath };
}

function referenceRecord(reference: Reference): ShardRecord['reference'] {
  if (reference.kind === 'baseline') return { kind: 'baseline', commit: reference.baseline.commit };
  if (reference.kind === 'base-ref') return { kind: 'base-ref', commit: reference.commit ?? reference.ref };
  return { kind: 'none', commit: null };
}

function markShard(resultsPath: string, record: ShardRecord): void {
  if (!existsSync(resultsPath)) return;
  const written = JSON.parse(readFileSync(resultsPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(resultsPath, `${JSON.stringify({ ...written, shard: record }, null, 2)}\n`);
}

function moreRoundsFor(reference: Reference, log: (line: string) => void): RunOptions['moreRounds'] {
  if (reference.kind === 'baseline') return createMoreRoundsHook({ baseline: reference.baseline, log });
  if (reference.kind === 'base-ref') {
    return createMoreRoundsHook({ arms: { head: reference.headArm, base: reference.baseArm }, log });
  }
  return undefined;
}

/** The comparison a reference calls for, or null for a measurement only. */
export function judge(reference: Reference, results: Results): Comparison | null {
  if (reference.kind === 'baseline') return compareToBaseline(reference.baseline, results);
  if (reference.kind === 'base-ref') return compareArms(results, reference.headArm, reference.baseArm);
  return null;
}
