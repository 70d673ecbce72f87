import type { Environment, Results, WorkloadResult } from '../results/schema.ts';
import {
  needsRoundsToResolve,
  resolvedThroughputLossPct,
  THROUGHPUT_LOSS_TO_RESOLVE_PCT,
} from './resolution.ts';
import { directArmName, metricSamples, roundsOf } from '../results/schema.ts';
import {
  WORK_METRICS,
  isWorkMetric,
  type MetricName,
  METRIC_DEFAULTS,
  metricSpecsFor,
  type Direction,
  type MetricSpec,
  type Policy,
  type Scale,
} from '../model/metrics.ts';
import { countedByWorkChannel, type Suite, type Workload } from '../suite/schema.ts';
import { UsageError } from '../util/errors.ts';
import {
  countFingerprintDifferences,
  cpuRelativeToDirectSamples,
  environmentDifferences,
  type CountFingerprintDifference,
  type Baseline,
  type BaselineWorkload,
  type EnvironmentDifference,
} from './baseline.ts';
import { functionDeltas, type FunctionDelta, type FunctionPerQuery } from '../work/profile.ts';
import { formatP, plural, signedChange } from '../util/format.ts';

import {
  hodgesLehmann,
  holmAdjust,
  mannWhitneyU,
  median,
  minimumOneSidedP,
  minimumRoundsForSignificance,
} from '../model/stats.ts';
import { countShift } from './counts.ts';
import { channelOf, type Channel, type Measure } from '../model/channel.ts';
import { worstVerdict, type Verdict } from '../model/verdict.ts';

export interface MetricComparison {
  metric: MetricName;
  /** `cpu-relative-to-direct`: CPU µs/query ÷ the direct arm's machine time per query (baseline.ts). */
  variant: 'raw' | 'cpu-relative-to-direct';
  label: string;
  unit: string;
  direction: Direction;
  scale: Scale;
  thresholdPct: number;
  /** `info`: shown only, because the environment differs from the baseline's. */
  policy: Policy | 'info';
  baselineSamples: number[];
  currentSamples: number[];
  baselineMedian: number | null;
  currentMedian: number | null;
  /** Shift of current vs baseline: % of the baseline median (relative), points, or error count. */
  delta: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  /** Confidence the interval achieves (below 0.95 for tiny samples). */
  ciLevel: number | null;
  /**
   * Time channel: the one-sided p of "not worse" (rank test); work channel: the two-sided p of
   * "no shift" (counts, counts.ts).
   */
  pValue: number | null;
  pAdjusted: number | null;
  verdict: Verdict;
  note: string | null;
  /** Which channel measured it: Holm's correction and the decision rule are per channel. */
  channel: Channel;
  /**
   * On a pass, the largest worsening the data leave possible (the interval's bad end, at least the
   * threshold): "no loss beyond this" is what the channel could resolve in this run.
   */
  resolution: number | null;
  /** Work channel: windows set aside as outliers (a GC or a compile in them), per side. */
  outliers: { current: number; reference: number } | null;
}

export interface WorkloadVerdict {
  id: string;
  title: string;
  driver: string;
  threads: number;
  verdict: Verdict;
  rounds: { current: number; baseline: number; planned: number };
  /**
   * When a work-channel arm of either side never settled: the largest range of its kept windows,
   * in % of their median (a trend that wide was still under way); null when all settled.
   */
  unsettledSpreadPct: number | null;
  /**
   * Why this run is on another machine than the baseline's (its direct arm ran at another speed),
   * so that time is judged only by a gross loss of overhead; else null. Its figures are still shown.
   */
  otherMachine: string | null;
  metrics: MetricComparison[];
  notes: string[];
}

export interface Comparison {
  mode: 'baseline' | 'arms';
  verdict: Verdict;
  summaryLine: string;
  warnings: string[];
  workloads: WorkloadVerdict[];
  /** What the current samples are compared against, for the report header. */
  reference: { label: string; commit: string | null; date: string | null };
  current: { label: string; commit: string | null; date: string };
  environment: {
    differences: EnvironmentDifference[];
    /** True when absolute metrics became informational because the environment differs. */
    normalisedOnly: boolean;
    baseline: Environment;
    current: Environment;
  };
  alpha: number;
  level: number;
  /** Gated tests in the Holm families of both channels together. */
  comparisons: number;
  /** Gated tests per channel: each channel is its own Holm family. */
  families: Record<Channel, number>;
  suite: Suite;
  /**
   * Per workload with work-channel profiles of both sides (base-vs-head runs): the functions whose
   * own instructions per query changed most, reference → current.
   */
  functionDeltas: Record<string, FunctionDelta[]>;
}

export interface CompareOptions {
  /** Family-wise significance level (default 0.05). */
  alpha?: number;
  /** Confidence level of the intervals (default 0.95). */
  level?: number;
  /** Arm under test in the results (default: the first arm with role 'proxy'). */
  arm?: string;
  /** Holm family sizes at least these (tests not run yet count as p = 1): used mid-run. */
  familySize?: Partial<Record<Channel, number>>;
}

interface WorkloadInput {
  id: string;
  title: string;
  driver: string;
  threads: number;
  workload: Workload | undefined;
  planned: number;
  current: (metric: MetricName) => number[];
  baseline: (metric: MetricName) => number[];
  currentCpuRel: () => number[];
  baselineCpuRel: () => number[];
  currentErrorsByRound: { round: number; errors: number }[];
  baselineRounds: number;
  currentRounds: number;
  /** See WorkloadVerdict.unsettledSpreadPct. */
  unsettledSpreadPct: number | null;
  /**
   * For an absolute metric, the direct arm's (the control's) shift since the baseline: of the same
   * metric when the direct arm has it (TPS, QPS, latencies), else of its TPS (CPU per query, RSS).
   * Null when there is nothing to compare (A/B mode, or no direct samples).
   */
  control: (metric: MetricName) => ControlShift | null;
}

const DEFAULT_ALPHA = 0.05;
const DEFAULT_LEVEL = 0.95;

/** Gate a results file against a committed baseline. */
export function compareToBaseline(
  baseline: Baseline,
  results: Results,
  opts: CompareOptions = {},
): Comparison {
  const arm = opts.arm ?? results.arms.find((a) => a.role === 'proxy')?.name;
  if (!arm || !results.arms.some((a) => a.name === arm)) {
    throw new UsageError(
      `the results have no arm ${arm ? `"${arm}"` : "with role 'proxy'"} to compare against the baseline`,
    );
  }
  const { inputs, warnings } = collectInputs(results, (w) => baselineInput(baseline, results, w, arm));
  const readWriteOnly = baseline.workloads.some((bw) =>
    Object.values(bw.arms).some((a) => a.metrics.syscalls_per_query && !a.syscallsCounted),
  );
  if (readWriteOnly) {
    warnings.push(
      'the baseline counted only read and write system calls (recorded before every call was counted): ' +
        'syscalls per query is informational until the baseline is re-recorded',
    );
  }
  for (const bw of baseline.workloads) {
    if (!results.workloads.some((w) => w.id === bw.id))
      warnings.push(`workload ${bw.id} is in the baseline but was not run`);
  }
  const functions = workFunctionDeltas(results, arm, (w) => {
    const bw = baseline.workloads.find((b) => b.id === w.id);
    return bw ? bw.arms[baselineArmName(bw, arm) ?? '']?.topFunctions : undefined;
  });
  return build(inputs, {
    mode: 'baseline',
    opts,
    warnings,
    differences: environmentDifferences(baseline.environment, results.environment),
    countDifferences: countFingerprintDifferences(baseline.environment, results.environment),
    results,
    baselineEnvironment: baseline.environment,
    reference: {
      label: `baseline ${baseline.commit ? baseline.commit.slice(0, 12) : '(unknown commit)'}`,
      commit: baseline.commit,
      date: baseline.date,
    },
    armLabel: arm,
    functionDeltas: functions,
  });
}

/**
 * One input per judged workload, in the results' order; a workload that is not judged gives a
 * warning instead (`toInput` may also return one).
 */
function collectInputs(
  results: Results,
  toInput: (w: WorkloadResult) => WorkloadInput | string,
): { inputs: WorkloadInput[]; warnings: string[] } {
  const inputs: WorkloadInput[] = [];
  const warnings: string[] = [];
  for (const w of results.workloads) {
    const input = notJudged(w, results) ?? toInput(w);
    if (typeof input === 'string') warnings.push(input);
    else inputs.push(input);
  }
  return { inputs, warnings };
}

/** A workload's samples of `arm` against the baseline's, or why it cannot be judged. */
function baselineInput(
  baseline: Baseline,
  results: Results,
  w: WorkloadResult,
  arm: string,
): WorkloadInput | string {
  const bw = baseline.workloads.find((b) => b.id === w.id);
  if (!bw) {
    return `workload ${w.id} is not in the baseline: not judged (regenerate the baseline to include it)`;
  }
  const baseArm = baselineArmName(bw, arm);
  if (!baseArm) return `workload ${w.id}: the baseline has no arm "${arm}" nor a proxy arm: not judged`;
  const ba = bw.arms[baseArm]!;
  const direct = directArmName(results);
  const directBaseline = Object.values(bw.arms).find((a) => a.role === 'direct');
  return {
    control: (m) => {
      const own =
        metricSamples(w, direct, m).length > 0 && (directBaseline?.metrics[m]?.samples.length ?? 0) > 0;
      const metric = own ? m : 'tps';
      return controlShift(
        metric,
        metricSamples(w, direct, metric),
        directBaseline?.metrics[metric]?.samples ?? [],
      );
    },
    ...workloadHeader(w, results.suite),
    current: (m) => metricSamples(w, arm, m, direct),
    baseline: (m) =>
      m === 'syscalls_per_query' && !ba.syscallsCounted ? [] : (ba.metrics[m]?.samples ?? []),
    currentCpuRel: () => cpuRelativeToDirectSamples(w, arm, results.environment.cores, direct),
    baselineCpuRel: () => ba.cpuRelativeToDirect?.samples ?? [],
    currentErrorsByRound: errorsByRound(w, arm),
    baselineRounds: Math.max(0, ...Object.values(ba.metrics).map((s) => s.samples.length)),
    currentRounds: roundsOf(w, arm),
    unsettledSpreadPct: unsettledSpread(w, [arm]),
  };
}

/** Base-vs-head A/B: gate arm `headArm` against arm `baseArm` measured interleaved in the same run. */
export function compareArms(
  results: Results,
  headArm: string,
  baseArm: string,
  opts: CompareOptions = {},
): Comparison {
  for (const name of [headArm, baseArm]) {
    if (!results.arms.some((a) => a.name === name)) {
      throw new UsageError(
        `the results have no arm "${name}" (arms: ${results.arms.map((a) => a.name).join(', ')})`,
      );
    }
  }
  const direct = directArmName(results);
  const { inputs, warnings } = collectInputs(results, (w) => ({
    control: () => null, // same run, same machine state: nothing to drift from
    ...workloadHeader(w, results.suite),
    current: (m) => metricSamples(w, headArm, m, direct),
    baseline: (m) => metricSamples(w, baseArm, m, direct),
    currentCpuRel: () => [],
    baselineCpuRel: () => [],
    currentErrorsByRound: errorsByRound(w, headArm),
    baselineRounds: roundsOf(w, baseArm),
    currentRounds: roundsOf(w, headArm),
    unsettledSpreadPct: unsettledSpread(w, [headArm, baseArm]),
  }));
  const functions = workFunctionDeltas(results, headArm, (w) => w.work?.arms[baseArm]?.topFunctions);
  const baseCommit = results.arms.find((a) => a.name === baseArm)?.commit ?? null;
  const headCommit = results.arms.find((a) => a.name === headArm)?.commit ?? results.git.commit;
  return build(inputs, {
    mode: 'arms',
    opts,
    warnings,
    differences: [],
    countDifferences: [],
    results,
    baselineEnvironment: results.environment,
    reference: {
      label: `arm ${baseArm}${baseCommit ? ` (${baseCommit.slice(0, 12)})` : ''}`,
      commit: baseCommit,
      date: results.startedAt,
    },
    armLabel: headArm,
    currentCommit: headCommit,
    functionDeltas: functions,
  });
}

export interface ControlShift {
  /** The direct arm's metric the shift is of. */
  metric: MetricName;
  estimate: number;
  low: number;
  high: number;
}

/**
 * The direct arm is the run's control: the proxy plays no part in it, so its shift since the
 * baseline is the machine's (another job on the CPU, a neighbour on the host, thermal limits).
 * An absolute metric of the proxy carries that shift, so in baseline mode it gates only when the
 * control's whole 95% interval lies within ±that metric's threshold, i.e. when the machine is
 * shown to be in the baseline's state to the precision the metric needs. Otherwise it is
 * informational, and overhead and CPU per query relative to the direct arm (which divide the
 * machine out) decide. The burden of proof is on "same machine state": a control that merely did
 * not move significantly is not enough (a 7% slower machine with a noisy control passed the
 * older guard and raised false alarms on CPU per query, docs/ACCURACY.md).
 */
function controlShift(metric: MetricName, current: number[], baseline: number[]): ControlShift | null {
  if (current.length === 0 || baseline.length === 0) return null;
  const ref = median(baseline);
  if (ref === 0) return null;
  const hl = hodgesLehmann(current, baseline);
  return {
    metric,
    estimate: (100 * hl.estimate) / ref,
    low: (100 * hl.low) / ref,
    high: (100 * hl.high) / ref,
  };
}

function controlHolds(control: ControlShift | null, spec: MetricSpec): boolean {
  if (control === null || spec.scale !== 'relative') return true;
  // The control's own direction does not matter: a faster machine shifts the proxy's figures too.
  return control.low >= -spec.thresholdPct && control.high <= spec.thresholdPct;
}

/**
 * Even the normalised time metrics assume the baseline's machine: overhead and CPU relative to the
 * direct arm divide the machine's speed out only to first order, since with more client threads
 * than cores the proxy, MySQL and the load generator share the CPU in proportions that change with
 * it. Measured on a 2-core runner whose direct arm ran 1.5-2.2× a committed baseline's, with
 * nothing in the proxy changed: overhead moved from −11 to +17 points on the guide's rows and by
 * −110 points on mysqlslap's burst. On the baseline's own machine class the direct arm moved
 * −12% at most over 20 A/A trials (docs/ACCURACY.md). Beyond this shift of the direct arm's
 * throughput the run is on another machine, and only counts are judged against the baseline.
 */
const MACHINE_CLASS_TOLERANCE_PCT = 20;

/**
 * On another machine than the baseline's, only a gross loss of the proxy against the same run's
 * direct arm is judged: its share of the direct arm's throughput halved, i.e. overhead up by half
 * of what the baseline left (+26 points from 48%, +16 from 69%). Measured with nothing changed
 * on a runner 1.5-2.2× as fast as the baseline's: overhead moved by at most +17 points, from
 * 48%. A proxy that waits on every packet loses far more (94% → 98% on the latency row is its
 * share of direct falling from 6% to 2%).
 */
const OTHER_MACHINE_SHARE_KEPT = 0.5;

/** A run on another machine than the baseline's: why, and the overhead rise judged a gross loss. */
interface OtherMachine {
  reason: string;
  grossLossPts: number;
}

/** The overhead rise, in points, that halves the proxy's share of direct throughput in the baseline. */
function grossLossPts(input: WorkloadInput): number {
  const recorded = input.baseline('overhead_pct');
  const overhead = recorded.length > 0 ? Math.min(99, median(recorded)) : 50;
  return Math.round((100 - overhead) * (1 - OTHER_MACHINE_SHARE_KEPT) * 10) / 10;
}

/**
 * A time metric's spec and whether it is informational: absolute metrics gate only when the
 * control holds, and on another machine only overhead gates, at its gross-loss threshold.
 */
function timeRowSpec(
  spec: MetricSpec,
  input: WorkloadInput,
  normalisedOnly: boolean,
  other: OtherMachine | null,
): { spec: MetricSpec; informational: boolean } {
  if (other !== null) {
    return spec.metric === 'overhead_pct'
      ? {
          spec: { ...spec, thresholdPct: Math.max(spec.thresholdPct, other.grossLossPts) },
          informational: false,
        }
      : { spec, informational: true };
  }
  const informational = spec.absolute && (normalisedOnly || !controlHolds(input.control(spec.metric), spec));
  return { spec, informational };
}

/** Whether the workload ran on another machine than the baseline's (see MACHINE_CLASS_TOLERANCE_PCT). */
function otherMachine(input: WorkloadInput): OtherMachine | null {
  const control = input.control('qps');
  if (control === null || Math.abs(control.estimate) <= MACHINE_CLASS_TOLERANCE_PCT) return null;
  const pct = formatDelta({ delta: control.estimate, scale: 'relative' });
  const gross = grossLossPts(input);
  return {
    reason:
      `the direct arm's ${METRIC_DEFAULTS[control.metric].label} is ${pct} from the baseline's ` +
      `(beyond ±${MACHINE_CLASS_TOLERANCE_PCT}%), so time is judged only by a gross loss ` +
      `(overhead beyond +${gross} pts: the proxy's share of direct halved) and the counts decide`,
    grossLossPts: gross,
  };
}

function describeControl(c: ControlShift): string {
  const pct = (v: number) => formatDelta({ delta: v, scale: 'relative' });
  return `direct ${METRIC_DEFAULTS[c.metric].label} ${pct(c.estimate)} (95% CI ${pct(c.low)} … ${pct(c.high)})`;
}

/**
 * Per workload, the functions whose self instructions per query changed most from the reference's
 * profile to the arm's, where both have one.
 */
function workFunctionDeltas(
  results: Results,
  arm: string,
  reference: (w: WorkloadResult) => FunctionPerQuery[] | undefined,
): Record<string, FunctionDelta[]> {
  const out: Record<string, FunctionDelta[]> = {};
  for (const w of results.workloads) {
    const current = w.work?.arms[arm]?.topFunctions;
    const recorded = reference(w);
    if (current && recorded) out[w.id] = functionDeltas(recorded, current);
  }
  return out;
}

/** Why a workload has nothing to judge (skipped, or not measured by the run's channels), else null. */
function notJudged(w: WorkloadResult, results: Results): string | null {
  if (w.skipped !== null) return `workload ${w.id} was skipped: ${w.skipped}`;
  if (w.samples.length === 0 && w.work === null && results.status === 'complete') {
    return `workload ${w.id} was not measured: the work channel does not count it (it drives sysbench workloads that opt in; measure ${results.measure})`;
  }
  return null;
}

/** The widest kept-window range of the arms that never settled; null when all settled (or were not counted). */
function unsettledSpread(w: WorkloadResult, arms: string[]): number | null {
  const unsettled = arms.flatMap((arm) => {
    const measured = w.work?.arms[arm];
    return measured && !measured.settled ? [measured.spreadPct ?? Number.POSITIVE_INFINITY] : [];
  });
  return unsettled.length > 0 ? Math.max(...unsettled) : null;
}

function baselineArmName(bw: BaselineWorkload, arm: string): string | undefined {
  if (bw.arms[arm]) return arm;
  return Object.entries(bw.arms).find(([, a]) => a.role === 'proxy')?.[0];
}

function workloadHeader(w: WorkloadResult, suite: Suite) {
  const workload = suite.workloads.find((x) => x.id === w.id);
  return { id: w.id, title: w.title, driver: w.driver, threads: w.threads, workload, planned: suite.rounds };
}

function errorsByRound(w: WorkloadResult, arm: string) {
  return w.samples
    .filter((s) => s.arm === arm)
    .map((s) => ({ round: s.round, errors: s.metrics.errors }))
    .sort((a, b) => a.round - b.round);
}

interface BuildContext {
  mode: Comparison['mode'];
  opts: CompareOptions;
  warnings: string[];
  differences: EnvironmentDifference[];
  /** Software the work channel's counts depend on that differs from the baseline's. */
  countDifferences: CountFingerprintDifference[];
  results: Results;
  baselineEnvironment: Environment;
  reference: Comparison['reference'];
  armLabel: string;
  currentCommit?: string | null;
  functionDeltas?: Record<string, FunctionDelta[]>;
}

function describeDifferences(
  differences: ReadonlyArray<{ field: string; baseline: string; current: string }>,
): string {
  return differences.map((d) => `${d.field}: ${d.baseline} → ${d.current}`).join('; ');
}

function build(inputs: WorkloadInput[], ctx: BuildContext): Comparison {
  const alpha = ctx.opts.alpha ?? DEFAULT_ALPHA;
  const level = ctx.opts.level ?? DEFAULT_LEVEL;
  const normalisedOnly = ctx.differences.length > 0;
  const countsComparable = ctx.countDifferences.length === 0;
  const warnings = [...referenceWarnings(inputs, ctx), ...ctx.warnings];
  const workloads = inputs.map((input) => {
    const other = otherMachine(input);
    const rows = metricRows(input, ctx.mode, normalisedOnly, countsComparable, level, other);
    return workloadVerdict(input, rows, normalisedOnly, other?.reason ?? null);
  });
  const drift = driftWarning(workloads);
  if (drift !== null) warnings.push(drift);
  const moved = otherMachineWarning(workloads);
  if (moved !== null) warnings.push(moved);
  const families = adjustForHolm(workloads, ctx.opts.familySize);
  warnings.push(...decideWorkloads(workloads, alpha, families));
  const verdict = worstVerdict(workloads.map((w) => w.verdict));
  return {
    mode: ctx.mode,
    verdict,
    summaryLine: summaryLine(workloads, verdict),
    warnings,
    workloads,
    reference: ctx.reference,
    current: {
      label: `arm ${ctx.armLabel}`,
      commit: ctx.currentCommit ?? ctx.results.git.commit,
      date: ctx.results.startedAt,
    },
    environment: {
      differences: ctx.differences,
      normalisedOnly,
      baseline: ctx.baselineEnvironment,
      current: ctx.results.environment,
    },
    alpha,
    level,
    comparisons: families.time + families.work,
    families,
    suite: ctx.results.suite,
    functionDeltas: ctx.functionDeltas ?? {},
  };
}

/** What limits the whole comparison: a failed run, an environment or software unlike the baseline's. */
function referenceWarnings(inputs: WorkloadInput[], ctx: BuildContext): string[] {
  const warnings: string[] = [];
  if (ctx.results.status === 'failed')
    warnings.push(`the run failed: ${ctx.results.failure ?? 'no reason recorded'}`);
  if (ctx.differences.length > 0) {
    warnings.push(
      `The environment differs from the baseline's (${describeDifferences(ctx.differences)}): ` +
        'TPS, QPS and latency are informational only; the verdict rests on overhead against the same-run direct arm and ' +
        "on proxy CPU per query relative to the direct arm's work.",
    );
  }
  if (
    ctx.countDifferences.length > 0 &&
    inputs.some((i) => WORK_METRICS.some((m) => i.current(m).length > 0))
  ) {
    warnings.push(
      `The software the counts depend on differs from the baseline's (${describeDifferences(ctx.countDifferences)}): ` +
        'instructions, syscalls and round trips per query are informational only (re-record the baseline, or compare base and head in one run).',
    );
  }
  return warnings;
}

/** A workload's rows, undecided, with a note naming the metrics the control's drift made informational. */
function workloadVerdict(
  input: WorkloadInput,
  metrics: MetricComparison[],
  normalisedOnly: boolean,
  otherMachine: string | null,
): WorkloadVerdict {
  const demoted =
    normalisedOnly || otherMachine !== null
      ? []
      : metrics.filter((m) => m.policy === 'info' && m.variant === 'raw' && !isWorkMetric(m.metric));
  return {
    id: input.id,
    title: input.title,
    driver: input.driver,
    threads: input.threads,
    verdict: 'pass',
    rounds: { current: input.currentRounds, baseline: input.baselineRounds, planned: input.planned },
    unsettledSpreadPct: input.unsettledSpreadPct,
    otherMachine,
    metrics,
    notes:
      demoted.length > 0
        ? [
            `the control is not shown to be in the baseline's state closely enough for ${demoted.map((m) => m.label).join(', ')}, ` +
              `informational here: ${[...new Set(demoted.map((m) => describeControl(input.control(m.metric)!)))].join('; ')}`,
          ]
        : [],
  };
}

/** Names the workloads whose time channel ran on another machine than the baseline's, if any. */
function otherMachineWarning(workloads: WorkloadVerdict[]): string | null {
  const moved = workloads.filter((w) => w.otherMachine !== null);
  if (moved.length === 0) return null;
  return (
    `This machine is not the baseline's: the direct arm moved beyond ±${MACHINE_CLASS_TOLERANCE_PCT}% in ${moved.map((w) => w.id).join(', ')}, where ` +
    "TPS, QPS, latency and CPU time are shown but not judged against the baseline, and overhead only where the proxy lost half its share of the direct arm's throughput; the counts decide there. " +
    'To gate them, compare base and head in one run (--base-ref) or record the baseline on this machine class.'
  );
}

/** Names the workloads whose absolute metrics the control's drift made informational, if any. */
function driftWarning(workloads: WorkloadVerdict[]): string | null {
  const drifted = workloads.filter((w) => w.notes.length > 0);
  if (drifted.length === 0) return null;
  return (
    `The direct arm (the control: MySQL without the proxy) is not shown to be where it was in the baseline in ` +
    `${drifted.map((w) => w.id).join(', ')}: absolute metrics whose threshold is tighter than the control's 95% interval ` +
    "are informational there, and overhead and CPU per query relative to the direct arm's work decide " +
    '(see the workload notes).'
  );
}

/**
 * Holm's correction per channel (a channel's metrics share a cause and a noise model: counts are
 * near-exact, timings vary ±8% between rounds, and a timing family must not dilute a count's
 * evidence nor the other way round), over every gated test of the run in that channel
 * (workloads × gated metrics), with TPS and QPS of a workload as one hypothesis (see
 * hypothesisKey); sets pAdjusted and returns each family's size.
 */
function adjustForHolm(
  workloads: WorkloadVerdict[],
  familySize: CompareOptions['familySize'],
): Record<Channel, number> {
  const sizes: Record<Channel, number> = { time: 0, work: 0 };
  for (const channel of CHANNELS) {
    const groups = new Map<string, MetricComparison[]>();
    for (const w of workloads) {
      for (const m of w.metrics) {
        if (m.policy !== 'gate' || m.pValue === null || m.channel !== channel) continue;
        const key = `${w.id}\u0000${hypothesisKey(m)}`;
        groups.set(key, [...(groups.get(key) ?? []), m]);
      }
    }
    const family = [...groups.values()];
    // A merged hypothesis is only as significant as its least significant member.
    const adjusted = holmAdjust(
      family.map((g) => Math.max(...g.map((m) => m.pValue!))),
      familySize?.[channel],
    );
    family.forEach((g, i) => g.forEach((m) => (m.pAdjusted = adjusted[i]!)));
    sizes[channel] = Math.max(family.length, familySize?.[channel] ?? 0);
  }
  return sizes;
}

const CHANNELS: readonly Channel[] = ['time', 'work'];

/**
 * Decides every metric and workload; returns the warnings: warn-only metrics that moved, and the
 * gated timings too few rounds keep from ever reaching significance.
 */
function decideWorkloads(
  workloads: WorkloadVerdict[],
  alpha: number,
  families: Record<Channel, number>,
): string[] {
  const warnings: string[] = [];
  const hopeless: string[] = [];
  for (const w of workloads) {
    for (const m of w.metrics) {
      if (m.metric !== 'errors') m.verdict = decideMetric(m, alpha, w.unsettledSpreadPct);
      if (m.policy === 'gate' && m.pValue !== null && m.channel === 'time') {
        const floor = minimumOneSidedP(m.currentSamples.length, m.baselineSamples.length);
        if (floor > alpha / Math.max(1, families.time)) hopeless.push(`${w.id} ${m.label}`);
      }
      if (m.policy === 'warn' && (m.verdict === 'regressed' || m.verdict === 'improved')) {
        warnings.push(
          `${w.id}: ${m.label} ${m.verdict} (${formatDelta(m)}; warn only, does not fail the run)`,
        );
      }
    }
    w.verdict = worstVerdict(w.metrics.filter((m) => m.policy === 'gate').map((m) => m.verdict));
  }
  if (hopeless.length > 0) warnings.push(tooFewSamplesWarning(workloads, hopeless, alpha, families.time));
  const blind = unresolvedLossWarning(workloads);
  if (blind !== null) warnings.push(blind);
  return warnings;
}

/** Names the passing workloads whose time channel could not see the throughput loss it must. */
function unresolvedLossWarning(workloads: WorkloadVerdict[]): string | null {
  const blind = workloads.filter((w) => w.verdict === 'pass' && needsRoundsToResolve(w));
  if (blind.length === 0) return null;
  const described = blind.map(
    (w) =>
      `${w.id} (resolves ${formatResolution(resolvedThroughputLossPct(w)!)} after ${w.rounds.current} rounds)`,
  );
  return (
    `The time channel could not rule out a ${THROUGHPUT_LOSS_TO_RESOLVE_PCT}% throughput loss in ${described.join(', ')} ` +
    "at this run's noise: a wait or lost concurrency that size would pass there. More rounds (--rounds, or a larger " +
    '--budget-minutes for adaptive ones) or a quieter runner narrow it.'
  );
}

function tooFewSamplesWarning(
  workloads: WorkloadVerdict[],
  hopeless: string[],
  alpha: number,
  k: number,
): string {
  const first = workloads.find((w) => w.metrics.some((m) => hopeless.includes(`${w.id} ${m.label}`)))!;
  const n = first.rounds.current;
  const m = first.rounds.baseline;
  const needed = minimumRoundsForSignificance(alpha, k, m);
  return (
    `Too few samples: ${hopeless.length} gated timing(s) cannot reach significance at all ` +
    `(with ${n} current and ${m} reference rounds the smallest possible one-sided p is ` +
    `${formatP(minimumOneSidedP(n, m))}, above ${alpha}/${k} = ${formatP(alpha / k)} after Holm over the time channel's ${k} comparisons). ` +
    `The time channel cannot call a regression; run at least ${needed} rounds for it to be able to.`
  );
}

/**
 * Before running: null when `rounds` rounds (against `referenceRounds` baseline rounds, or the
 * same number in an A/B run) can reach significance over the suite's gated comparisons — or when
 * the adaptive rounds the verdict adds to an inconclusive workload, up to `maxRounds`, can — else a
 * warning with the minimum rounds needed.
 */
export function plannedRoundsWarning(
  suite: Suite,
  rounds: number,
  referenceRounds?: number,
  alpha = DEFAULT_ALPHA,
  measure: Measure = 'time',
  maxRounds = rounds,
): string | null {
  if (measure === 'work') return null; // windows, not rounds, are the work channel's samples
  const k = Math.max(1, expectedFamilies(suite, measure).time);
  const m = referenceRounds ?? rounds;
  if (minimumOneSidedP(rounds, m) <= alpha / k) return null;
  if (minimumOneSidedP(maxRounds, referenceRounds ?? maxRounds) <= alpha / k) return null;
  const needed = minimumRoundsForSignificance(alpha, k, referenceRounds);
  return (
    `${rounds} rounds cannot detect a regression in the time channel: against ${m} reference rounds the smallest possible p is ` +
    `${formatP(minimumOneSidedP(rounds, m))}, above ${alpha}/${k} = ${formatP(alpha / k)} after Holm over ` +
    `${k} gated timings (${suite.workloads.length} workloads). At least ${needed} rounds are needed.`
  );
}

/** Gated statistical comparisons a suite will make (workloads × gated metrics other than errors). */
export function expectedComparisons(suite: Suite, measure: Measure = 'time'): number {
  const families = expectedFamilies(suite, measure);
  return Math.max(1, families.time + families.work);
}

/** The Holm family size of each channel a suite will make (0 for a channel the run does not measure). */
export function expectedFamilies(suite: Suite, measure: Measure = 'time'): Record<Channel, number> {
  const sizes: Record<Channel, number> = { time: 0, work: 0 };
  for (const w of suite.workloads) {
    for (const channel of CHANNELS) sizes[channel] += gatedHypotheses(w, measure, channel);
  }
  return sizes;
}

/**
 * Gated hypotheses of one workload: its gated metrics other than errors, TPS and QPS counted once;
 * the work channel's only for the workloads it measures (sysbench). With `channel`, that
 * channel's only.
 */
export function gatedHypotheses(
  workload: Workload | undefined,
  measure: Measure = 'time',
  channel?: Channel,
): number {
  const counted = (metric: MetricName) =>
    metric === 'cpu_us_per_query'
      ? gatesCpuTime(workload, measure)
      : isWorkMetric(metric)
        ? measure !== 'time' && workload !== undefined && countedByWorkChannel(workload)
        : measure !== 'work';
  const gated = metricSpecsFor(workload).filter(
    (s) =>
      s.policy === 'gate' &&
      s.metric !== 'errors' &&
      counted(s.metric) &&
      (channel === undefined || channelOf(s.metric) === channel),
  );
  return new Set(gated.map((s) => hypothesisKey({ metric: s.metric, variant: 'raw' }))).size;
}

/**
 * TPS and QPS of one workload are one hypothesis in Holm's family: for a fixed transaction mix
 * QPS is TPS times a constant, so their tests are the same test twice, and counting them twice
 * would cost a round of power for nothing (Holm's guarantee holds for any grouping of tests
 * whose merged p is the larger of the two).
 */
function hypothesisKey(m: Pick<MetricComparison, 'metric' | 'variant'>): string {
  return `${THROUGHPUT.has(m.metric) ? 'throughput' : m.metric}/${m.variant}`;
}

/**
 * TPS, QPS and overhead (1 − proxy TPS / direct TPS of the same round) all say "the proxy carries
 * less": one hypothesis, as TPS and QPS always were.
 */
const THROUGHPUT: ReadonlySet<MetricName> = new Set(['tps', 'qps', 'overhead_pct']);

/**
 * Where the run counts a workload's work against comparable counts, its CPU time per query is
 * published but does not gate: the instruction count measures the same work to ±0.5% where CPU
 * time moves ±8% between rounds, and a gated duplicate would only widen the time channel's Holm
 * family. The time channel then gates what counts cannot see: throughput, overhead and added
 * latency.
 */
function cpuTimeBesideCounts(spec: MetricSpec): MetricSpec {
  return spec.policy === 'gate' ? { ...spec, policy: 'warn' } : spec;
}

/** Whether a suite's CPU time per query gates for this workload (see cpuTimeBesideCounts). */
function gatesCpuTime(workload: Workload | undefined, measure: Measure): boolean {
  return measure === 'time' || workload === undefined || !countedByWorkChannel(workload);
}

function metricRows(
  input: WorkloadInput,
  mode: 'arms' | 'baseline',
  normalisedOnly: boolean,
  countsComparable: boolean,
  level: number,
  other: OtherMachine | null,
): MetricComparison[] {
  const rows: MetricComparison[] = [];
  const countsGate =
    countsComparable &&
    input.current('instructions_per_query').length > 0 &&
    input.baseline('instructions_per_query').length > 0;
  for (const listed of metricSpecsFor(input.workload, mode)) {
    if (listed.policy === 'off') continue;
    const spec = countsGate && listed.metric === 'cpu_us_per_query' ? cpuTimeBesideCounts(listed) : listed;
    if (spec.metric === 'errors') {
      rows.push(errorsRow(spec, input));
      continue;
    }
    // Counts gate only against counts of the same software stack; a reference without counts (a
    // baseline recorded by the time channel alone) leaves them informational.
    const judged = isWorkMetric(spec.metric)
      ? { spec, informational: !countsComparable || input.baseline(spec.metric).length === 0 }
      : timeRowSpec(spec, input, normalisedOnly, other);
    const { informational } = judged;
    const policy: MetricComparison['policy'] = informational ? 'info' : spec.policy;
    const current = input.current(spec.metric);
    const row = statRow(judged.spec, 'raw', policy, current, input.baseline(spec.metric), level);
    if (row) rows.push(row);
    if (informational && spec.metric === 'cpu_us_per_query') {
      const rel = cpuRelativeRow(spec, input, other === null ? spec.policy : 'info', level);
      if (rel) rows.push(rel);
    }
  }
  return rows;
}

/** CPU per query relative to the direct arm's work: what gates where raw CPU time cannot. */
function cpuRelativeRow(
  spec: MetricSpec,
  input: WorkloadInput,
  policy: MetricComparison['policy'],
  level: number,
): MetricComparison | null {
  const relative = { ...spec, label: CPU_RELATIVE_LABEL, unit: '%' };
  return statRow(
    relative,
    'cpu-relative-to-direct',
    policy,
    input.currentCpuRel(),
    input.baselineCpuRel(),
    level,
  );
}

function errorsRow(spec: MetricSpec, input: WorkloadInput): MetricComparison {
  const allow = input.workload?.allowErrors ?? false;
  const bad = input.currentErrorsByRound.filter((r) => r.errors > spec.thresholdPct);
  const total = input.currentErrorsByRound.reduce((s, r) => s + r.errors, 0);
  const samples = input.currentErrorsByRound.map((r) => r.errors);
  const baseSamples = input.baseline('errors');
  let verdict: Verdict = 'pass';
  let note: string | null = null;
  if (bad.length > 0) {
    const where = `${total} error(s) in round(s) ${bad.map((r) => r.round + 1).join(', ')}`;
    if (allow) note = `${where}; allowed by the suite (allowErrors)`;
    else if (spec.policy === 'gate') {
      verdict = 'regressed';
      note = `${where}: any error during a run fails it unless the suite sets allowErrors`;
    } else note = where;
  }
  return {
    ...emptyRow(spec, 'raw', allow ? 'warn' : spec.policy, samples, baseSamples),
    scale: 'count',
    delta: total,
    verdict,
    note,
  };
}

/** A comparison row with its samples and medians and nothing decided yet (inconclusive). */
function emptyRow(
  spec: MetricSpec,
  variant: MetricComparison['variant'],
  policy: MetricComparison['policy'],
  current: number[],
  baseline: number[],
): MetricComparison {
  return {
    metric: spec.metric,
    variant,
    label: spec.label,
    unit: spec.unit,
    direction: spec.direction,
    scale: spec.scale,
    thresholdPct: spec.thresholdPct,
    policy,
    baselineSamples: baseline,
    currentSamples: current,
    baselineMedian: baseline.length ? median(baseline) : null,
    currentMedian: current.length ? median(current) : null,
    delta: null,
    ciLow: null,
    ciHigh: null,
    ciLevel: null,
    pValue: null,
    pAdjusted: null,
    verdict: 'inconclusive',
    note: null,
    channel: channelOf(spec.metric),
    resolution: null,
    outliers: null,
  };
}

function statRow(
  spec: MetricSpec,
  variant: MetricComparison['variant'],
  policy: MetricComparison['policy'],
  current: number[],
  baseline: number[],
  level: number,
): MetricComparison | null {
  if (current.length === 0 && baseline.length === 0) return null; // the driver does not yield it
  const row = emptyRow(spec, variant, policy, current, baseline);
  if (current.length === 0 || baseline.length === 0) {
    row.note = current.length === 0 ? 'no current samples' : 'no reference samples';
    return row;
  }
  if (row.channel === 'work') return countRow(row, spec, level);
  if (spec.scale === 'relative' && row.baselineMedian === 0) {
    row.note = 'reference median is 0: no relative change can be computed';
    return row;
  }
  const hl = hodgesLehmann(current, baseline, level);
  const mw = mannWhitneyU(current, baseline);
  // One-sided, in the direction the estimate points: the time channel guards against a loss and
  // reports a gain, and never asks "did it move at all". With ties the normal approximation can
  // undercut what any permutation test of these sizes can reach: never below the exact floor.
  const p = hl.estimate > 0 ? mw.pGreater : hl.estimate < 0 ? mw.pLess : Math.max(mw.pGreater, mw.pLess);
  row.pValue = Math.min(1, Math.max(p, minimumOneSidedP(current.length, baseline.length)));
  row.ciLevel = hl.achievedLevel;
  const scale = spec.scale === 'relative' ? 100 / Math.abs(row.baselineMedian!) : 1;
  row.delta = hl.estimate * scale;
  row.ciLow = hl.low * scale;
  row.ciHigh = hl.high * scale;
  return row;
}

/** A work-channel row: counts judged as counts (counts.ts), outlier windows named in the note. */
function countRow(row: MetricComparison, spec: MetricSpec, level: number): MetricComparison {
  const shift = countShift(row.currentSamples, row.baselineSamples, spec.noiseFloorPct ?? 0, level);
  if (shift === null) {
    row.note = 'reference is 0: no relative change can be computed';
    return row;
  }
  row.delta = shift.estimate;
  row.ciLow = shift.low;
  row.ciHigh = shift.high;
  row.ciLevel = level;
  row.pValue = shift.pTwoSided;
  row.outliers = shift.outliers;
  const setAside = shift.outliers.current + shift.outliers.reference;
  if (setAside > 0) {
    row.note =
      `${plural(setAside, 'window')} set aside as outliers (a GC or a compile in them: ` +
      `${shift.outliers.reference} reference, ${shift.outliers.current} current)`;
  }
  return row;
}

/** The row's estimate and interval oriented so that positive means worse. */
function worseSide(m: MetricComparison): { estimate: number; low: number; high: number } {
  const sign = m.direction === 'lower-better' ? 1 : -1;
  const a = sign * m.ciLow!;
  const b = sign * m.ciHigh!;
  return { estimate: sign * m.delta!, low: Math.min(a, b), high: Math.max(a, b) };
}

/**
 * One rule for both channels, each with its own statistic behind delta, interval and p:
 * - regressed: the estimate is worse than the threshold and significant (Holm within its channel);
 * - improved: the mirror image;
 * - inconclusive: evidence that leans towards a regression without reaching it (the estimate is
 *   beyond the threshold on the bad side but not significant), or counts from processes that
 *   never settled whose shift does not clear the threshold by more than their windows' own range
 *   (a trend that wide was still under way; a 2× change clears it, an unsettled A/A at +2.5% not);
 * - pass: no evidence of a regression beyond the threshold. The interval's bad end says what the
 *   run could resolve (resolution): a noisy timing passes with "no loss beyond 14%", it does not
 *   become a warning for being noisy.
 */
function decideMetric(m: MetricComparison, alpha: number, unsettledSpreadPct: number | null): Verdict {
  if (m.delta === null || m.ciLow === null || m.ciHigh === null) return 'inconclusive';
  const worse = worseSide(m);
  const t = m.thresholdPct;
  const significant = (m.pAdjusted ?? m.pValue ?? 1) <= alpha;
  const margin = m.channel === 'work' ? (unsettledSpreadPct ?? 0) : 0;
  if (worse.estimate > t) {
    if (worse.estimate > t + margin) return significant ? 'regressed' : 'inconclusive';
    m.note = joinNotes(m.note, 'the counts did not settle: re-run to decide');
    return 'inconclusive';
  }
  if (worse.estimate < -(t + margin) && significant) return 'improved';
  m.resolution = Math.max(t, worse.high);
  return 'pass';
}

function joinNotes(a: string | null, b: string): string {
  return a ? `${a}; ${b}` : b;
}

/**
 * The label of proxy CPU per query relative to the direct arm's machine time per query (variant
 * cpu-relative-to-direct): the proxy's CPU per query on a scale where the same run's direct MySQL
 * sets the unit, so a faster or slower machine divides out.
 */
export const CPU_RELATIVE_LABEL = 'proxy CPU/query, machine-normalised';

export function formatDelta(m: Pick<MetricComparison, 'delta' | 'scale'>): string {
  if (m.delta === null) return 'n/a';
  if (m.scale === 'count') return plural(m.delta, 'error');
  return signedChange(m.delta, m.scale === 'points' ? ' pts' : '%');
}

/** What the one-line summary needs of a workload (also rebuilt from a fork's structured results). */
export interface SummaryWorkload {
  id: string;
  verdict: Verdict;
  metrics: Array<
    Pick<MetricComparison, 'policy' | 'verdict' | 'label' | 'delta' | 'scale'> &
      Partial<Pick<MetricComparison, 'channel' | 'resolution' | 'thresholdPct'>>
  >;
}

/** showId formats a workload id (the trusted PR comment puts it in a code span). */
export function summaryLine(
  workloads: SummaryWorkload[],
  verdict: Verdict,
  showId: (id: string) => string = (id) => id,
): string {
  const n = workloads.length;
  const inW = `in ${plural(n, 'workload')}`;
  const list = (v: Verdict) =>
    workloads.flatMap((w) =>
      w.metrics
        .filter((m) => m.policy === 'gate' && m.verdict === v)
        .map((m) => `${showId(w.id)} ${m.label} ${formatDelta(m)}`),
    );
  if (n === 0) return 'Nothing compared: no workload has both current and reference samples';
  if (verdict === 'regressed') {
    const r = list('regressed');
    return `${plural(r.length, 'regression')} ${inW}: ${clip(r)}`;
  }
  const parts = [`No regression ${inW}`];
  const inc = workloads.filter((w) => w.verdict === 'inconclusive').map((w) => showId(w.id));
  if (inc.length > 0) parts.push(`${inc.length} inconclusive (${clip(inc)})`);
  const imp = list('improved');
  if (imp.length > 0) parts.push(`${imp.length} improved: ${clip(imp)}`);
  const why = passReasons(workloads, showId);
  return why ? `${parts.join('; ')} — ${why}` : parts.join('; ');
}

function clip(items: string[]): string {
  return items.length > 4 ? `${items.slice(0, 4).join(', ')} …` : items.join(', ');
}

/**
 * Why the gated metrics passed, per channel in one clause: the counts' largest change against its
 * threshold, and the time channel's coarsest resolution (the loss it could not rule out).
 */
function passReasons(workloads: SummaryWorkload[], showId: (id: string) => string): string {
  const passed = workloads.flatMap((w) =>
    w.metrics
      .filter((m) => m.policy === 'gate' && m.verdict === 'pass' && m.delta !== null)
      .map((m) => ({ ...m, id: w.id })),
  );
  const counts = passed.filter((m) => m.channel === 'work');
  const times = passed.filter((m) => m.channel === 'time' && m.resolution != null && m.scale === 'relative');
  const clauses: string[] = [];
  if (counts.length > 0) {
    const largest = counts.reduce((a, b) => (Math.abs(b.delta!) > Math.abs(a.delta!) ? b : a));
    clauses.push(
      `counts within their thresholds (largest: ${showId(largest.id)} ${largest.label} ${formatDelta(largest)})`,
    );
  }
  if (times.length > 0) {
    const coarsest = times.reduce((a, b) => (b.resolution! > a.resolution! ? b : a));
    clauses.push(
      `time: no loss beyond its threshold, and none larger than ${formatResolution(coarsest.resolution!)} ` +
        `at this run's noise (coarsest: ${showId(coarsest.id)} ${coarsest.label})`,
    );
  }
  return clauses.join('; ');
}

function formatResolution(pct: number): string {
  return `${pct >= 10 ? Math.round(pct) : pct.toFixed(1)}%`;
}
