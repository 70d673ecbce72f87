import { InfrastructureError } from '../util/errors.ts';
import { countedByWorkChannel } from '../suite/schema.ts';
import { measureWork, type WorkArmInput } from '../work/channel.ts';
import { workStartFor } from '../work/runtime.ts';
import { detectCallgrind } from '../work/valgrind.ts';
import type { ProxyArmSpec } from './arms.ts';
import { armEnv, DEFAULT_READY_TIMEOUT_MS } from './armSetup.ts';
import { throwIfAborted, type Detections, type RunContext, type Target } from './context.ts';
import { budgetDeadline, plannedTimeChannelSeconds } from './budget.ts';

/** The engine's side of the work channel (src/work): whether it can run, and running it. */

/** The least time a proxy under valgrind gets to answer its first handshake. */
const WORK_READY_TIMEOUT_MS = 120_000;

export interface Callgrind {
  valgrind: string;
  control: string;
  version: string;
}

/**
 * callgrind when the work channel is asked for. Missing valgrind fails a `work` run (exit 3, with
 * the package to install) and turns `both` into `time` with a warning; a suite without a sysbench
 * workload has nothing the work channel can drive.
 */
export async function workChannelTool(ctx: RunContext): Promise<Callgrind | null> {
  const { channels, deps } = ctx;
  if (channels.measure === 'time') return null;
  const detection = await (deps.detectCallgrind ?? detectCallgrind)(deps.exec);
  const why = !detection.available
    ? `${detection.reason}. Install: ${detection.installHint}`
    : !ctx.suite.workloads.some(countedByWorkChannel)
      ? 'the suite has no sysbench workload the work channel counts (it drives sysbench with fixed event counts)'
      : null;
  if (why === null && detection.available) return detection;
  if (channels.measure === 'work') throw new InfrastructureError(`--measure work: ${why}`);
  const warning = `The work channel (instructions per query) did not run: ${why}. Only the time channel was measured.`;
  ctx.warnings.push(warning);
  deps.log(`warning: ${warning}`);
  channels.measure = 'time';
  return null;
}

/** Every arm under callgrind at once, every runnable sysbench workload counted through them. */
export async function runWorkChannel(
  ctx: RunContext,
  mysql: Target,
  specs: ProxyArmSpec[],
  callgrind: Callgrind,
  detections: Detections,
): Promise<void> {
  throwIfAborted(ctx);
  // The time channel's planned rounds keep their share of the budget: windows beyond the minimum
  // (for counts that have not settled) stop where they would start eating it.
  const deadline = budgetDeadline(ctx);
  const extraWindowsUntilMs =
    deadline === undefined
      ? undefined
      : deadline - 1000 * plannedTimeChannelSeconds(ctx, detections, specs.length + 1);
  const measured = await measureWork(
    {
      arms: specs.map((spec) => workArmInput(ctx, mysql, spec)),
      workloads: ctx.suite.workloads.filter((w) => detections.get(w.driver)?.available),
      mysql,
      settings: ctx.suite.work,
      outDir: ctx.outDir,
      valgrind: callgrind.valgrind,
      callgrindControl: callgrind.control,
      ...(extraWindowsUntilMs !== undefined ? { extraWindowsUntilMs } : {}),
      ...(ctx.options.signal ? { signal: ctx.options.signal } : {}),
    },
    {
      exec: ctx.deps.exec,
      driverFor: ctx.deps.driverFor,
      progress: ctx.deps.progress,
      procFs: ctx.procFs,
      fetcher: ctx.fetcher,
      now: ctx.deps.now,
      cleanup: ctx.cleanup,
      phase: ctx.phases.time.bind(ctx.phases),
    },
  );
  for (const [id, work] of measured) ctx.work.set(id, work);
}

/**
 * How the work channel runs an arm: its own start command for it (or its runtime's flags added to
 * a --proxy-start command), a longer wait (valgrind is slow).
 */
function workArmInput(ctx: RunContext, mysql: Target, spec: ProxyArmSpec): WorkArmInput {
  return {
    name: spec.name,
    start: spec.workStart ?? workStartFor(spec.start, ctx.outDir),
    cwd: spec.cwd,
    env: armEnv(ctx, mysql, spec),
    host: spec.host ?? '127.0.0.1',
    port: spec.port,
    ...(spec.metricsUrl !== undefined ? { metricsUrl: spec.metricsUrl } : {}),
    trafficCheck: spec.trafficCheck && ctx.options.trafficCheck !== false,
    ...(spec.clientTls ? { tls: spec.clientTls } : {}),
    readyTimeoutMs: Math.max(WORK_READY_TIMEOUT_MS, 4 * (spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS)),
  };
}
