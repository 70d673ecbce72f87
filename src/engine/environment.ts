import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Environment } from '../results/schema.ts';
import type { Exec } from '../util/exec.ts';

/** Environment variables that identify a CI runner image (GitHub-hosted and self-hosted). */
const RUNNER_KEYS = /^(RUNNER_(OS|ARCH|NAME|ENVIRONMENT)|ImageOS|ImageVersion)$/;

export interface EnvironmentInputs {
  mysqlVersion: string;
  sysbenchVersion: string | null;
  mysqlslapVersion: string | null;
  /** valgrind's version when the work channel runs, else null. */
  valgrindVersion?: string | null;
  env: NodeJS.ProcessEnv;
  exec: Exec;
  readFile?: (path: string) => string;
}

function readOr(readFile: (p: string) => string, file: string): string | null {
  try {
    return readFile(file);
  } catch {
    return null;
  }
}

/** PRETTY_NAME from /etc/os-release, else the platform and release. */
export function osName(osRelease: string | null): string {
  const pretty = osRelease ? /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] : undefined;
  return pretty ?? `${os.type()} ${os.release()}`;
}

/** What the results must record so a number can be judged: the machine, the software, the limits. */
export async function collectEnvironment(inputs: EnvironmentInputs): Promise<Environment> {
  const readFile = inputs.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const runner: Record<string, string> = {};
  for (const [key, value] of Object.entries(inputs.env)) {
    if (RUNNER_KEYS.test(key) && value !== undefined) runner[key] = value;
  }
  const ulimit = await inputs.exec('sh', ['-c', 'ulimit -n']).catch(() => null);
  const ulimitText = ulimit?.stdout.trim() ?? '';
  const somaxconn = readOr(readFile, '/proc/sys/net/core/somaxconn');
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    memoryBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    os: osName(readOr(readFile, '/etc/os-release')),
    runner,
    node: process.version,
    mysqlVersion: inputs.mysqlVersion,
    sysbenchVersion: inputs.sysbenchVersion,
    mysqlslapVersion: inputs.mysqlslapVersion,
    // "unlimited" has no number: recorded as null, and it is no reason for a warning.
    ulimitNofile: /^\d+$/.test(ulimitText) ? Number(ulimitText) : null,
    somaxconn: somaxconn && /^\d+/.test(somaxconn.trim()) ? Number(somaxconn.trim()) : null,
    valgrindVersion: inputs.valgrindVersion ?? null,
    glibcVersion: glibcVersion(),
  };
}

/** The C library's version (instruction counts depend on it), from Node's own report. */
function glibcVersion(): string | null {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)
    ?.header;
  return header?.glibcVersionRuntime ?? null;
}

/** The commit and ref the run measured: from GitHub's env in CI, else from git. */
export async function gitInfo(
  exec: Exec,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ commit: string | null; ref: string | null }> {
  const run = async (args: string[]) => {
    const result = await exec('git', args, { cwd }).catch(() => null);
    return result && result.exitCode === 0 ? result.stdout.trim() || null : null;
  };
  return {
    commit: env.GITHUB_SHA ?? (await run(['rev-parse', 'HEAD'])),
    ref: env.GITHUB_HEAD_REF || env.GITHUB_REF || (await run(['rev-parse', '--abbrev-ref', 'HEAD'])),
  };
}
