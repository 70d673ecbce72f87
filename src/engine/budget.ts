import type { WorkloadResult } from '../results/schema.ts';
import type { Workload } from '../suite/schema.ts';
import type { Detections, RunContext } from './context.ts';

/**
 * The run's budget: one deadline for set-up and both channels, and the time channel's planned
 * rounds, which keep their share of it however long the work channel takes.
 */

/**
 * Time a run needs beyond its measured duration (connect, driver start-up, scrapes). Measured on
 * the default suite (2 cores): 8 sysbench runs of 5 s took 40.6 s, 0.07 s each beyond their
 * duration; an estimate 20× that planned 326 s for rounds that took 190 s and starved the rest.
 */
export const RUN_OVERHEAD_SEC = 0.3;

/** One mysqlslap run before any was measured: the default suite's take 1.6-1.8 s on 2 cores. */
const MYSQLSLAP_RUN_ESTIMATE_SEC = 2;

/** Seconds a workload's data set takes to prepare and clean up, when nothing was measured yet. */
const PREPARE_ESTIMATE_SEC = 1;

/** The run's budget as a deadline (ms since the epoch): it covers set-up and both channels. */
export function budgetDeadline(ctx: RunContext): number | undefined {
  const minutes = ctx.options.budgetMinutes ?? ctx.suite.budgetMinutes;
  return minutes !== undefined ? ctx.startedMs + minutes * 60_000 : undefined;
}

/**
 * Expected seconds of the time channel's planned rounds over `armCount` arms (direct included):
 * what the budget keeps for it however long the work channel takes.
 */
export function plannedTimeChannelSeconds(ctx: RunContext, detections: Detections, armCount: number): number {
  if (!ctx.channels.time) return 0;
  return ctx.suite.workloads
    .filter((w) => detections.get(w.driver)?.available)
    .reduce(
      (sum, w) =>
        sum +
        PREPARE_ESTIMATE_SEC +
        armCount *
          (ctx.suite.rounds * (nominalSeconds(w, ctx.options.durationSec) + RUN_OVERHEAD_SEC) + w.warmupSec),
      0,
    );
}

/**
 * The expected measured seconds of one run of a workload, for progress and budget estimates:
 * mysqlslap runs until its iterations end, so its runs so far (else an estimate) stand in for a duration.
 */
export function nominalSeconds(
  workload: Workload,
  durationSec: number | undefined,
  measured?: WorkloadResult,
): number {
  if (workload.driver !== 'mysqlslap') return durationSec ?? workload.options.timeSec;
  const seen = measured?.samples.map((s) => s.metrics.durationSec) ?? [];
  return seen.length > 0 ? seen.reduce((a, b) => a + b, 0) / seen.length : MYSQLSLAP_RUN_ESTIMATE_SEC;
}
