import { InfrastructureError, errorMessage } from '../util/errors.ts';
import type { Driver } from '../drivers/types.ts';
import { redact } from '../mysql/index.ts';
import type { RoundSample, WorkloadResult } from '../results/schema.ts';
import { maxRoundsOf, type Workload } from '../suite/schema.ts';
import { throwIfAborted, type Detections, type LiveArm, type RunContext, type Target } from './context.ts';
import { guardedRun, measureRun } from './measureRun.ts';
import { armOrder } from './order.ts';
import { buildResults } from './outcome.ts';
import { budgetDeadline, nominalSeconds, plannedTimeChannelSeconds, RUN_OVERHEAD_SEC } from './budget.ts';
import { sampleWarnings } from './warnings.ts';

/**
 * The time channel: per workload, the data set is prepared through direct MySQL, every arm warmed
 * up once, then planned rounds run every arm once in ABBA order, then the verdict may ask for more
 * rounds while the budget allows. Every workload gets a result record (skipped ones with the
 * reason), also when only the work channel measures.
 */

interface TimePlan {
  plannedRounds: number;
  /** A safety cap for the verdict hook, which applies its own (the same default). */
  maxRounds: number;
  /** The budget covers the whole run, set-up (server, builds) included. */
  budgetDeadline: number | undefined;
  /** Expected seconds of one run of a workload, for progress and the budget. */
  runSeconds(workload: Workload): number;
  /** Expected seconds of the planned rounds of the workloads after this one. */
  secondsAfter(workload: Workload): number;
  /** Expected seconds of one round of this workload and of each one after it, summed. */
  roundSecondsFrom(workload: Workload): number;
}

export async function measureTimeChannel(
  ctx: RunContext,
  mysql: Target,
  detections: Detections,
): Promise<void> {
  const plan = timePlan(ctx, detections);
  if (ctx.channels.time) warnWhenThePlanOverrunsTheBudget(ctx, detections, plan);
  for (const workload of ctx.suite.workloads) {
    const detection = detections.get(workload.driver);
    if (!detection?.available) {
      const reason = detection
        ? `${detection.reason} Install: ${detection.installHint}`
        : 'driver not detected';
      ctx.workloads.push({ ...header(workload), skipped: reason, samples: [], work: null });
      ctx.warnings.push(`Skipped ${workload.id}: ${reason}`);
      ctx.deps.log(`warning: skipped ${workload.id}: ${reason}`);
      continue;
    }
    throwIfAborted(ctx);
    const result: WorkloadResult = {
      ...header(workload),
      skipped: null,
      samples: [],
      work: ctx.work.get(workload.id) ?? null,
    };
    ctx.workloads.push(result);
    if (ctx.channels.time) await measureWorkload(ctx, mysql, workload, result, plan);
  }
}

/** The planned rounds run whatever the budget says (a verdict needs them); the run says so. */
function warnWhenThePlanOverrunsTheBudget(ctx: RunContext, detections: Detections, plan: TimePlan): void {
  if (plan.budgetDeadline === undefined) return;
  const leftSec = (plan.budgetDeadline - ctx.deps.now()) / 1000;
  const plannedSec = plannedTimeChannelSeconds(ctx, detections, ctx.liveArms.length);
  if (plannedSec <= leftSec) return;
  const warning =
    `The budget leaves ${Math.max(0, Math.round(leftSec))} s for the time channel, whose planned rounds take about ` +
    `${Math.round(plannedSec)} s: they run anyway (fewer would leave the verdict unable to decide), and no ` +
    'adaptive rounds will. Raise --budget-minutes or lower --rounds.';
  ctx.warnings.push(warning);
  ctx.deps.log(`warning: ${warning}`);
}

function header(workload: Workload) {
  return { id: workload.id, title: workload.title, driver: workload.driver, threads: workload.threads };
}

function timePlan(ctx: RunContext, detections: Detections): TimePlan {
  const { options, suite } = ctx;
  const plannedRounds = suite.rounds;
  const runnable = suite.workloads.filter((w) => detections.get(w.driver)?.available);
  const later = (workload: Workload) => runnable.slice(runnable.findIndex((w) => w.id === workload.id) + 1);
  const runSeconds = (w: Workload) =>
    nominalSeconds(
      w,
      options.durationSec,
      ctx.workloads.find((r) => r.id === w.id),
    ) + RUN_OVERHEAD_SEC;
  return {
    plannedRounds,
    maxRounds: maxRoundsOf(suite, plannedRounds),
    budgetDeadline: budgetDeadline(ctx),
    runSeconds,
    secondsAfter: (workload) =>
      later(workload).reduce(
        (sum, w) => sum + ctx.liveArms.length * (plannedRounds * runSeconds(w) + w.warmupSec),
        0,
      ),
    roundSecondsFrom: (workload) =>
      [workload, ...later(workload)].reduce((sum, w) => sum + ctx.liveArms.length * runSeconds(w), 0),
  };
}

/** Prepare, warm up, planned and adaptive rounds, clean up: one workload on every arm. */
async function measureWorkload(
  ctx: RunContext,
  mysql: Target,
  workload: Workload,
  result: WorkloadResult,
  plan: TimePlan,
): Promise<void> {
  const driver = ctx.deps.driverFor(workload.driver);
  ctx.deps.progress.note(`${workload.id}: preparing the data set through direct MySQL`);
  // Workloads may share table names (sysbench's sbtest*): each one's data is dropped before the
  // next is prepared; the stack entry covers the paths that leave this function by an error.
  let cleaned = false;
  const cleanWorkload = async () => {
    if (cleaned) return;
    cleaned = true;
    await driver.cleanup(workload, { target: mysql, exec: ctx.deps.exec });
  };
  ctx.cleanup.add(`clean up ${workload.id}`, cleanWorkload);
  const phase = <T>(name: string, fn: () => Promise<T>) =>
    ctx.phases.time(name, fn, { workload: workload.id });
  await phase('time: prepare', () =>
    driver.prepare(workload, { target: mysql, exec: ctx.deps.exec, signal: ctx.options.signal }),
  );
  try {
    // The engine warms every arm once (pools, JIT, caches) and measures runs without warmup, so
    // the proxy's CPU window holds exactly the queries the driver counts.
    const measured: Workload = { ...workload, warmupSec: 0 };
    if (workload.warmupSec > 0) {
      await phase('time: warm-up', () => warmUp(ctx, measured, workload.warmupSec, driver, plan));
    }
    await phase('time: planned rounds', async () => {
      for (let round = 0; round < plan.plannedRounds; round++) {
        await runRound(ctx, measured, driver, result, round, plan.plannedRounds, plan);
      }
    });
    await phase('time: adaptive rounds', () => adaptiveRounds(ctx, measured, driver, result, plan));
    ctx.warnings.push(...sampleWarnings(workload, result));
  } finally {
    await phase('time: clean-up', cleanWorkload).catch((error: unknown) =>
      ctx.warnings.push(`Cleanup of ${workload.id}: ${redact(errorMessage(error), ctx.secrets)}`),
    );
  }
}

/** One warmup run per arm (mysqlslap, which has no duration: one iteration). */
async function warmUp(
  ctx: RunContext,
  workload: Workload,
  warmupSec: number,
  driver: Driver,
  plan: TimePlan,
): Promise<void> {
  const warmupWorkload =
    workload.driver === 'mysqlslap'
      ? { ...workload, options: { ...workload.options, iterations: 1 } }
      : workload;
  for (const arm of ctx.liveArms) {
    throwIfAborted(ctx);
    ctx.deps.progress.runStarted({
      workload: workload.id,
      arm: arm.record.name,
      round: 0,
      rounds: plan.plannedRounds,
      durationSec: warmupSec,
    });
    await guardedRun(
      arm,
      () =>
        driver.run(
          warmupWorkload,
          { target: arm.target, exec: ctx.deps.exec, signal: ctx.options.signal },
          { durationSec: warmupSec },
        ),
      ctx.options.signal,
      'during the warmup',
    );
    ctx.deps.progress.runFinished('warmed up');
  }
}

/** Every arm once, in this round's ABBA order; a failed traffic check fails the run. */
async function runRound(
  ctx: RunContext,
  workload: Workload,
  driver: Driver,
  result: WorkloadResult,
  round: number,
  roundsShown: number,
  plan: TimePlan,
): Promise<void> {
  const runSec = plan.runSeconds(workload);
  for (const [position, arm] of armOrder(ctx.liveArms, round).entries()) {
    throwIfAborted(ctx);
    ctx.deps.progress.runStarted({
      workload: workload.id,
      arm: arm.record.name,
      round: round + 1,
      rounds: roundsShown,
      durationSec: nominalSeconds(workload, ctx.options.durationSec, result),
      remainingSec:
        (roundsShown - round) * ctx.liveArms.length * runSec -
        position * runSec +
        plan.secondsAfter(workload),
    });
    const sample = await measureArm(ctx, workload, driver, arm, round, position);
    result.samples.push(sample);
    ctx.deps.progress.runFinished(sampleSummary(sample));
    assertTrafficSeen(arm, workload, sample);
  }
}

function measureArm(
  ctx: RunContext,
  workload: Workload,
  driver: Driver,
  arm: LiveArm,
  round: number,
  position: number,
): Promise<RoundSample> {
  const { deps, options } = ctx;
  return measureRun({
    arm,
    round,
    position,
    now: deps.now,
    procFs: ctx.procFs,
    hasProc: ctx.hasProc,
    ticksPerSecond: ctx.ticksPerSecond,
    fetcher: ctx.fetcher,
    signal: options.signal,
    run: (signal) =>
      driver.run(
        workload,
        { target: arm.target, exec: deps.exec, signal, onProgress: (p) => deps.progress.runProgress(p) },
        options.durationSec !== undefined ? { durationSec: options.durationSec } : {},
      ),
  });
}

/** A proxy whose metrics saw too few of the driver's queries was not in the path: the run fails. */
function assertTrafficSeen(arm: LiveArm, workload: Workload, sample: RoundSample): void {
  const tc = sample.proxy?.trafficCheck;
  if (arm.trafficCheck && tc && !tc.ok) {
    throw new InfrastructureError(
      `arm "${arm.record.name}", ${workload.id} round ${sample.round + 1}: traffic check failed: the proxy saw ${tc.observedQueries} of ${tc.expectedQueries} queries — the benchmark did not go through it ` +
        `(athena_queries_total from ${arm.spec?.metricsUrl ?? '?'} must grow by at least 95% of the driver's queries; pass --no-traffic-check for a proxy whose metrics do not count queries)`,
    );
  }
}

function sampleSummary(sample: RoundSample): string {
  const m = sample.metrics;
  return (
    `${m.tps.toFixed(1)} TPS, ${m.qps.toFixed(1)} QPS, p95 ${m.latencyMs.p95 ?? '—'} ms` +
    (sample.proxy?.cpuUsPerQuery != null ? `, ${sample.proxy.cpuUsPerQuery.toFixed(1)} µs CPU/query` : '') +
    (m.errors > 0 ? `, ${m.errors} errors` : '')
  );
}

/**
 * When this workload's adaptive rounds must stop: its share of the budget's slack (what the later
 * workloads' planned rounds leave), in proportion to the cost of one of its rounds, so that every
 * workload left can get as many extra rounds. Without shares the first workload took all of it: in
 * the default suite OLTP ran 8 rounds, point select and insert were cut at 5 and 4, too few for
 * significance against an 8-round baseline. What a workload leaves unused goes to the ones after it.
 */
function budgetShareEnd(ctx: RunContext, workload: Workload, plan: TimePlan): number {
  if (plan.budgetDeadline === undefined) return Number.POSITIVE_INFINITY;
  const now = ctx.deps.now();
  const slackMs = plan.budgetDeadline - now - plan.secondsAfter(workload) * 1000;
  const ownRoundSec = ctx.liveArms.length * plan.runSeconds(workload);
  return now + (slackMs * ownRoundSec) / Math.max(ownRoundSec, plan.roundSecondsFrom(workload));
}

/** More rounds while the verdict asks for them, the cap and the budget allow. */
async function adaptiveRounds(
  ctx: RunContext,
  workload: Workload,
  driver: Driver,
  result: WorkloadResult,
  plan: TimePlan,
): Promise<void> {
  const moreRounds = ctx.options.moreRounds;
  if (!moreRounds) return;
  let rounds = plan.plannedRounds;
  const shareEnd = budgetShareEnd(ctx, workload, plan);
  while (rounds < plan.maxRounds) {
    const roundSec = ctx.liveArms.length * plan.runSeconds(workload);
    const remainingSec = (shareEnd - ctx.deps.now()) / 1000;
    if (remainingSec < roundSec) {
      if (plan.budgetDeadline !== undefined) ctx.deps.log(`${workload.id}: no budget left for more rounds`);
      return;
    }
    const wanted = moreRounds(result, buildResults(ctx, 'complete', null), remainingSec);
    if (!(wanted > 0)) return;
    const extra = Math.min(Math.ceil(wanted), plan.maxRounds - rounds, Math.floor(remainingSec / roundSec));
    ctx.deps.progress.note(`${workload.id}: ${extra} more round(s) requested by the verdict`);
    const total = rounds + extra;
    for (; rounds < total; rounds++) await runRound(ctx, workload, driver, result, rounds, total, plan);
  }
}
