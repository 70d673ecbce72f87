import { roundsOf, type Results, type WorkloadResult } from '../results/schema.ts';
import { maxRoundsOf } from '../suite/schema.ts';
import type { Baseline } from './baseline.ts';
import { needsRoundsToResolve } from './resolution.ts';
import { type Verdict } from '../model/verdict.ts';
import {
  compareArms,
  compareToBaseline,
  expectedFamilies,
  type CompareOptions,
  type WorkloadVerdict,
} from './compare.ts';

export type RoundsReason =
  'inconclusive' | 'confirm-regression' | 'resolve' | 'decided' | 'max-rounds' | 'budget';

export interface RoundsDecision {
  moreRounds: number;
  reason: RoundsReason;
  verdict: Verdict;
}

export interface RoundsState {
  /** Rounds of this workload measured so far. */
  rounds: number;
  /** No more rounds than this for an inconclusive workload (a confirmation may exceed it). */
  maxRounds: number;
  /** Rounds added per step (default 2: one ABBA pair keeps the arms balanced). */
  step: number;
  /** Estimated wall time of one more round (all arms), seconds. */
  secPerRound: number;
  remainingBudgetSec: number;
  /** Whether this workload's regression was already re-measured once. */
  regressionConfirmed: boolean;
  /**
   * A pass whose time channel could not yet rule out a throughput loss of the size it must see
   * (resolution.ts): it gets rounds after inconclusive ones, up to maxRounds.
   */
  unresolved?: boolean;
}

/**
 * The decision rule, pure:
 * - regressed, not yet confirmed → `step` more rounds (budget permitting, even past maxRounds):
 *   the regression is re-measured once and decided on all rounds together;
 * - inconclusive and below maxRounds → up to `step` more rounds (budget permitting);
 * - a pass that cannot yet resolve the throughput loss the time channel must see, below maxRounds
 *   → up to `step` more rounds (budget permitting);
 * - otherwise 0.
 */
export function decideMoreRounds(verdict: Verdict, s: RoundsState): RoundsDecision {
  const affordable = s.secPerRound > 0 ? Math.floor(s.remainingBudgetSec / s.secPerRound) : s.step;
  if (verdict === 'regressed' && !s.regressionConfirmed) {
    const n = Math.min(s.step, affordable);
    return n > 0
      ? { moreRounds: n, reason: 'confirm-regression', verdict }
      : { moreRounds: 0, reason: 'budget', verdict };
  }
  const reason =
    verdict === 'inconclusive' ? 'inconclusive' : verdict === 'pass' && s.unresolved ? 'resolve' : null;
  if (reason === null) return { moreRounds: 0, reason: 'decided', verdict };
  if (s.rounds >= s.maxRounds) return { moreRounds: 0, reason: 'max-rounds', verdict };
  const n = Math.min(s.step, s.maxRounds - s.rounds, affordable);
  return n > 0 ? { moreRounds: n, reason, verdict } : { moreRounds: 0, reason: 'budget', verdict };
}

/** Wall seconds per round of a workload, from the start times of its rounds (or its run lengths). */
export function secondsPerRound(workload: WorkloadResult): number {
  const starts = new Map<number, number>();
  for (const s of workload.samples) {
    const t = Date.parse(s.startedAt);
    if (Number.isFinite(t)) starts.set(s.round, Math.min(starts.get(s.round) ?? t, t));
  }
  const rounds = [...starts.entries()].sort((a, b) => a[0] - b[0]);
  if (rounds.length >= 2) {
    const span = (rounds[rounds.length - 1]![1] - rounds[0]![1]) / 1000;
    if (span > 0) return span / (rounds.length - 1);
  }
  // One round only: the measured durations of its arms, plus a quarter for warmup and restarts.
  const firstRound = Math.min(...workload.samples.map((s) => s.round));
  const run = workload.samples
    .filter((s) => s.round === firstRound)
    .reduce((sum, s) => sum + s.metrics.durationSec, 0);
  return run * 1.25;
}

export interface MoreRoundsHookOptions {
  /** Baseline mode; omit for base-vs-head with `arms`. */
  baseline?: Baseline;
  arms?: { head: string; base: string };
  compare?: CompareOptions;
  step?: number;
  /** Default: the suite's maxRounds, else max(10, 2 × rounds). */
  maxRounds?: number;
  log?: (line: string) => void;
}

/**
 * The RunOptions.moreRounds hook for the engine. Protocol:
 * 1. After a workload's planned rounds, the engine calls hook(workload, results, remainingBudgetSec)
 *    with that workload's samples so far and the results of the run up to now.
 * 2. The hook returns N >= 0. If N > 0 the engine runs N more rounds of that workload (same arms,
 *    continuing the ABBA order and round numbering) and calls the hook again; it stops at 0.
 * 3. The hook decides on the workload's verdict with all rounds so far, with Holm's correction
 *    sized for the whole suite (other workloads' tests count as p = 1, so it is never less strict
 *    than the final comparison). Inconclusive → +step rounds until maxRounds or the budget;
 *    regressed → re-measured once (+step rounds) before it may fail the run.
 * The hook keeps which workloads were confirmed, so use one hook per run. `log` gets one line per
 * decision that adds rounds (e.g. "oltp_insert: inconclusive after 3 rounds, +2 rounds").
 */
export function createMoreRoundsHook(
  options: MoreRoundsHookOptions,
): (workload: WorkloadResult, results: Results, remainingBudgetSec: number) => number {
  const confirmed = new Set<string>();
  return (workload, results, remainingBudgetSec) => {
    const decision = moreRoundsNeeded(workload, results, remainingBudgetSec, {
      ...options,
      regressionConfirmed: confirmed.has(workload.id),
    });
    if (decision.reason === 'confirm-regression') confirmed.add(workload.id);
    if (decision.moreRounds > 0) {
      options.log?.(
        `${workload.id}: ${decision.verdict} after ${roundCount(workload, options, results)} rounds, ` +
          `+${decision.moreRounds} round${decision.moreRounds === 1 ? '' : 's'} (${decision.reason})`,
      );
    }
    return decision.moreRounds;
  };
}

function roundCount(workload: WorkloadResult, options: MoreRoundsHookOptions, results: Results): number {
  const arm =
    options.arms?.head ?? options.compare?.arm ?? results.arms.find((a) => a.role === 'proxy')?.name;
  return arm === undefined ? 0 : roundsOf(workload, arm);
}

/** One decision for one workload (what the hook computes; exported for tests and the Action's log). */
export function moreRoundsNeeded(
  workload: WorkloadResult,
  results: Results,
  remainingBudgetSec: number,
  options: MoreRoundsHookOptions & { regressionConfirmed?: boolean },
): RoundsDecision {
  // The whole suite's family: the other workloads' tests count as p = 1 until they exist.
  const familySize = expectedFamilies(results.suite, results.measure);
  const single: Results = { ...results, workloads: [workload] };
  const compareOpts: CompareOptions = { ...options.compare, familySize };
  let verdict: WorkloadVerdict | undefined;
  if (options.baseline) verdict = compareToBaseline(options.baseline, single, compareOpts).workloads[0];
  else if (options.arms)
    verdict = compareArms(single, options.arms.head, options.arms.base, compareOpts).workloads[0];
  else throw new TypeError('createMoreRoundsHook needs a baseline or arms');
  if (!verdict) return { moreRounds: 0, reason: 'decided', verdict: 'pass' };
  const rounds = verdict.rounds.current;
  return decideMoreRounds(verdict.verdict, {
    rounds,
    maxRounds: options.maxRounds ?? maxRoundsOf(results.suite, results.suite.rounds),
    step: options.step ?? 2,
    secPerRound: secondsPerRound(workload),
    remainingBudgetSec,
    regressionConfirmed: options.regressionConfirmed ?? false,
    unresolved: needsRoundsToResolve(verdict),
  });
}
