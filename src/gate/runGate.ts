import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runBenchmark, type EngineDeps, type RunOptions, type RunOutcome } from '../engine/run.ts';
import { renderMeasurementReport } from '../report/markdown.ts';
import type { Results } from '../results/schema.ts';
import type { Baseline } from '../verdict/baseline.ts';
import { compareArms, compareToBaseline, type Comparison } from '../verdict/compare.ts';
import { renderHtmlReport } from '../verdict/html.ts';
import { renderComparisonMarkdown } from '../verdict/markdown.ts';
import { createMoreRoundsHook } from '../verdict/rounds.ts';

/**
 * The gate: measure, judge, report. `athena-bench run` and the Action are two doors to this one
 * orchestration; each only turns its own inputs into a GateRequest and the outcome into its own
 * output (a terminal and an exit code; a job summary, a comment and outputs).
 */

/** What a run is judged against, decided before spending minutes measuring. */
export type Reference =
  | { kind: 'baseline'; file: string; baseline: Baseline }
  /** Base-vs-head: arm `baseArm` (built from `ref`) measured in the same run as `headArm`. */
  | { kind: 'base-ref'; ref: string; commit: string | null; headArm: string; baseArm: string }
  | { kind: 'none' };

export interface GateRequest extends Omit<RunOptions, 'moreRounds'> {
  reference: Reference;
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
  const { reference, ...options } = request;
  const moreRounds = moreRoundsFor(reference, deps.log);
  const outcome = await runBenchmark({ ...options, ...(moreRounds ? { moreRounds } : {}) }, deps);
  const comparison = judge(reference, outcome.results);
  const reportMarkdown = comparison
    ? renderMeasurementReport(outcome.results, renderComparisonMarkdown(comparison))
    : outcome.reportMarkdown;
  writeFileSync(outcome.reportPath, reportMarkdown);
  const htmlPath = path.join(path.dirname(outcome.reportPath), 'report.html');
  writeFileSync(htmlPath, renderHtmlReport(outcome.results, comparison ?? undefined));
  return { ...outcome, reportMarkdown, comparison, htmlPath };
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
