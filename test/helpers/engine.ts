// What tests and experiments that call the engine directly share: its dependencies, and this
// repository's Athena as an arm with test hooks in its environment.
import { driverFor } from '../../src/drivers/index.ts';
import { athenaArm, type ArmSource, type EngineDeps } from '../../src/engine/run.ts';
import { silentProgress } from '../../src/harness/progress.ts';
import { realExec } from '../../src/util/exec.ts';
import { REPO_ROOT } from './proxy.ts';

/** The real engine dependencies, silent, with any of them replaced. */
export function engineDeps(extra: Partial<EngineDeps> = {}): EngineDeps {
  return {
    exec: realExec,
    now: Date.now,
    log: () => undefined,
    progress: silentProgress,
    env: process.env,
    driverFor,
    ...extra,
  };
}

/**
 * This repository's Athena, already built (the caller builds the bundle once), with extra
 * environment: ATHENA_TEST_BURN_US_PER_QUERY (µs of CPU per forwarded query) or
 * ATHENA_TEST_SPIN_LOOPS_PER_QUERY (loop iterations: a cost in instructions).
 */
export function athenaWithEnv(
  name: string,
  role: 'proxy' | 'base' | 'reference',
  env: Record<string, string>,
): ArmSource {
  const athena = athenaArm(REPO_ROOT, { name, role });
  return async (ctx) => {
    const { build: _built, ...spec } = await athena(ctx);
    return { ...spec, env: { ...spec.env, ...env } };
  };
}
