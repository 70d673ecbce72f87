import { InfrastructureError } from '../util/errors.ts';
import { buildArms, recordArms, resolveArms, startArms } from './armSetup.ts';
import {
  createContext,
  throwIfAborted,
  type EngineDeps,
  type RunOptions,
  type RunOutcome,
} from './context.ts';
import { gitInfo } from './environment.ts';
import { clockTicksPerSecond } from './measureRun.ts';
import { finishRun } from './outcome.ts';
import type { PhaseTimer } from '../harness/phases.ts';
import { detectDrivers, provisionMysql, recordEnvironment } from './provision.ts';
import { measureTimeChannel } from './timeChannel.ts';
import { runWorkChannel, workChannelTool } from './workStep.ts';

export type { ProxyArmSpec, ArmSource, ArmFactory, ArmContext } from './arms.ts';
export { defaultProxyArm, athenaArm, haproxyArm, baseRefArm } from './arms.ts';
export type { EngineDeps, RunOptions, RunOutcome, Target } from './context.ts';

/**
 * Runs a suite against direct MySQL and every proxy arm and writes results.json:
 *
 *   1. MySQL: the server given, or a throwaway one (provision.ts)
 *   2. the drivers, and the environment the numbers are measured on
 *   3. the arms: resolved, their files written, built (armSetup.ts)
 *   4. the work channel, when asked: every arm under callgrind at once (workStep.ts, src/work)
 *   5. the time channel: the arms started, each workload's rounds interleaved (timeChannel.ts)
 *   6. cleanups and results.json, on every path (outcome.ts); the reports are the gate's
 *
 * Failures (MySQL, a build, a proxy that is not ready or dies, a driver, the traffic check, an
 * interrupt) write results.json with status 'failed' and throw.
 */
export async function runBenchmark(options: RunOptions, deps: EngineDeps): Promise<RunOutcome> {
  const ctx = createContext(options, deps);
  const phase: PhaseTimer = ctx.phases.time.bind(ctx.phases);
  let failure: unknown;
  try {
    if (ctx.hasProc) ctx.ticksPerSecond = await clockTicksPerSecond(deps.exec);
    throwIfAborted(ctx);
    ctx.git = await gitInfo(deps.exec, options.repoRoot ?? process.cwd(), deps.env);
    const { mysql, version } = await phase('MySQL start', () => provisionMysql(ctx));
    const { detections, callgrind } = await phase('tool checks', async () => {
      const found = await detectDrivers(ctx);
      const tool = await workChannelTool(ctx);
      await recordEnvironment(ctx, version, found, tool?.version ?? null);
      return { detections: found, callgrind: tool };
    });
    const specs = await resolveArms(ctx, mysql);
    await phase('proxy build', () => buildArms(ctx, mysql, specs));
    if (callgrind)
      await phase('work channel', () => runWorkChannel(ctx, mysql, specs, callgrind, detections));
    if (ctx.channels.time) await phase('proxy start', () => startArms(ctx, mysql, specs));
    else recordArms(ctx, mysql, specs);
    await measureTimeChannel(ctx, mysql, detections);
  } catch (error) {
    // An interrupt surfaces as whatever the aborted step threw (a killed driver…): name the cause.
    const signal = options.signal;
    failure = signal?.aborted
      ? new InfrastructureError(`interrupted (${String(signal.reason ?? 'aborted')})`)
      : error;
  }
  return finishRun(ctx, failure);
}
