import { spawnSync } from 'node:child_process';
import type { Driver } from '../drivers/types.ts';
import type { Measure } from '../model/channel.ts';
import { collectEnvironment } from '../engine/environment.ts';
import { findServerBinary } from '../mysql/localServer.ts';
import type { Environment } from '../results/schema.ts';
import type { DriverName, Suite } from '../suite/schema.ts';
import type { Exec } from '../util/exec.ts';
import { detectCallgrind } from '../work/valgrind.ts';

/**
 * This runner's environment as a run would record it, found before the run (a few `--version`
 * calls): what decides whether a committed baseline applies here (src/gate/reference.ts).
 */
export interface FingerprintInputs {
  suite: Suite;
  measure: Measure;
  /** The MySQL server's version when it is known (a server given); else the local server binary's. */
  mysqlVersion: string | null;
  exec: Exec;
  env: NodeJS.ProcessEnv;
  driverFor: (name: DriverName) => Driver;
}

export async function runnerFingerprint(inputs: FingerprintInputs): Promise<Environment> {
  const versions = new Map<DriverName, string | null>();
  for (const workload of inputs.suite.workloads) {
    if (versions.has(workload.driver)) continue;
    const detection = await inputs.driverFor(workload.driver).detect(inputs.exec);
    versions.set(workload.driver, detection.available ? detection.version : null);
  }
  const callgrind = inputs.measure === 'time' ? null : await detectCallgrind(inputs.exec);
  return collectEnvironment({
    mysqlVersion: inputs.mysqlVersion ?? localServerVersion(),
    sysbenchVersion: versions.get('sysbench') ?? null,
    mysqlslapVersion: versions.get('mysqlslap') ?? null,
    valgrindVersion: callgrind?.available ? callgrind.version : null,
    env: inputs.env,
    exec: inputs.exec,
  });
}

/**
 * The version a throwaway server of this machine would report: `mariadbd --version` prints
 * "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu …", SELECT VERSION() the word
 * after "Ver".
 */
export function localServerVersion(): string {
  try {
    const { binary } = findServerBinary();
    const out = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    return /\bVer\s+(\S+)/.exec(`${out.stdout ?? ''}${out.stderr ?? ''}`)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
