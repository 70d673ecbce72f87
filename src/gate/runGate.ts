import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runBenchmark, type EngineDeps, type RunOptions, type RunOutcome } from '../engine/run.ts';
import { renderMeasurementReport } from '../report/markdown.ts';
import { ResultsSchema, type Results, type ShardRecord } from '../results/schema.ts';
import type { Baseline } from '../verdict/baseline.ts';
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

export interface GateRequest extends Omit<RunOptions, 'moreRounds' | 'shardRecord'> {
  reference: Reference;
  /** Run only this shard's share of the suite (src/gate/shard.ts); results.json records it. */
  shard?: Shard;
}

/** The reports a judged (or measured-only) run leaves next to its results.json. */
export interface WrittenReports {
  /** report.md: the verdict first, when there is one, then the measurements. */
  reportPath: string;
  reportMarkdown: string;
  htmlPath: string;
  /** The verdict's markdown (report.md opens with it), rendered once for every door; null without one. */
  verdictMarkdown: string | null;
  /** The measurements without the verdict: for a page that shows the verdict its own way. */
  measurementMarkdown: string;
}

export interface GateOutcome extends RunOutcome, WrittenReports {
  /** null when there is nothing to judge against (a measurement only). */
  comparison: Comparison | null;
}

/**
 * Runs the benchmark with the reference's adaptive-rounds hook, judges the results, and writes
 * report.md (the verdict first) and report.html next to results.json; a failed run's report.md
 * says why it failed.
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
  const outDir = path.resolve(options.outDir);
  let outcome: RunOutcome;
  try {
    outcome = await runBenchmark(
      {
        ...options,
        // A shard's results.json says which shard it is, failed or not, for the merge to name it.
        ...(sharded ? { suite: sharded.suite, shardRecord: sharded.record } : {}),
        ...(moreRounds ? { moreRounds } : {}),
      },
      deps,
    );
  } catch (error) {
    const failed = readFailedResults(path.join(outDir, 'results.json'));
    if (failed) writeFileSync(path.join(outDir, 'report.md'), renderMeasurementReport(failed));
    throw error;
  }
  const comparison = judge(reference, outcome.results);
  return { ...outcome, ...writeReports(outDir, outcome.results, comparison), comparison };
}

/**
 * Writes report.md (the verdict first, when there is one) and report.html to outDir. `markdown`
 * replaces report.md's usual content (the compare command's: the verdict and a trend); `history`
 * are past baselines for the HTML trend chart.
 */
export function writeReports(
  outDir: string,
  results: Results,
  comparison: Comparison | null,
  options: { markdown?: (verdictMarkdown: string | null) => string; history?: Baseline[] } = {},
): WrittenReports {
  const verdictMarkdown = comparison ? renderComparisonMarkdown(comparison) : null;
  const measurementMarkdown = renderMeasurementReport(results);
  const reportMarkdown = options.markdown
    ? options.markdown(verdictMarkdown)
    : verdictMarkdown
      ? renderMeasurementReport(results, verdictMarkdown)
      : measurementMarkdown;
  mkdirSync(outDir, { recursive: true });
  const reportPath = path.join(outDir, 'report.md');
  writeFileSync(reportPath, reportMarkdown);
  const htmlPath = path.join(outDir, 'report.html');
  writeFileSync(htmlPath, renderHtmlReport(results, comparison ?? undefined, options.history));
  return { reportPath, reportMarkdown, htmlPath, verdictMarkdown, measurementMarkdown };
}

function referenceRecord(reference: Reference): ShardRecord['reference'] {
  if (reference.kind === 'baseline') return { kind: 'baseline', commit: reference.baseline.commit };
  if (reference.kind === 'base-ref') return { kind: 'base-ref', commit: reference.commit ?? reference.ref };
  return { kind: 'none', commit: null };
}

/** The results.json a failed run left, when it left one that parses. */
function readFailedResults(resultsPath: string): Results | null {
  if (!existsSync(resultsPath)) return null;
  const parsed = ResultsSchema.safeParse(JSON.parse(readFileSync(resultsPath, 'utf8')));
  return parsed.success ? parsed.data : null;
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
