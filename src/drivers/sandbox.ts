import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { allowedEnvironment } from '../util/childEnvironment.ts';

/**
 * Where and with what a driver process (sysbench, mysqlslap) runs. The gate's own process has, in
 * the Action, the pull request's checkout as its working directory and the inputs (github-token,
 * mysql-password), GITHUB_TOKEN and the runner's ACTIONS_* tokens in its environment. A driver
 * gets neither: sysbench loads its Lua test and `oltp_common.lua` from the working directory
 * before its install directory, so run from the checkout it would run a pull request's Lua.
 *
 * The environment is the allow-list the proxy arms get (src/util/childEnvironment.ts: PATH, HOME, USER,
 * LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TZ, TMPDIR) and what the driver itself needs (MYSQL_PWD
 * for mysqlslap); nothing listed in proxy-env, and never INPUT_*, ACTIONS_* or GITHUB_TOKEN. The
 * working directory is a fresh private directory, removed when the driver exits.
 */

export function driverEnvironment(
  ambient: NodeJS.ProcessEnv,
  needs: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return allowedEnvironment(ambient, [], needs);
}

/** Runs fn with a fresh private (0700) directory for a driver process, then removes it. */
export async function withDriverDir<T>(what: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `athena-bench-${what}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
