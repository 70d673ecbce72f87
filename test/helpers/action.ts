import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { bundleOptions, repoRoot } from '../../scripts/bundles.mjs';
import { parse } from 'yaml';
import { BUILTIN_SUITES } from '../../src/suite/builtins.ts';
import type { SuiteInput } from '../../src/suite/schema.ts';
import { startLocalServer, type LocalServer } from '../../src/mysql/index.ts';

/**
 * Runs the Action the way the GitHub runner does: the bundled entry point as a node process with
 * every declared input as INPUT_<NAME> (the defaults of action.yml filled in), the event payload,
 * and the summary and output files. Shared by the end-to-end tests.
 */

export { repoRoot };

const action = parse(readFileSync(path.join(repoRoot, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { default: string }>;
};

/** Bundles src/index.ts with the options scripts/build.mjs uses for dist/index.js. */
export async function buildActionBundle(outfile: string): Promise<string> {
  await build(bundleOptions('action', outfile));
  return outfile;
}

export interface ActionRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  summary: string;
  outputs: Record<string, string>;
}

/** GITHUB_OUTPUT holds `name<<DELIMITER\nvalue\nDELIMITER` blocks. */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i]!);
    if (!m) continue;
    const value: string[] = [];
    for (i += 1; i < lines.length && lines[i] !== m[2]; i += 1) value.push(lines[i]!);
    outputs[m[1]!] = value.join('\n');
  }
  return outputs;
}

export interface RunActionOptions {
  bundle: string;
  /** Where the summary and output files go (one pair per run name). */
  tmp: string;
  name: string;
  inputs: Record<string, string>;
  eventName: string;
  eventPath: string;
  workspace: string;
  /** GITHUB_* and other variables (GITHUB_API_URL, GITHUB_REPOSITORY…), and extra environment. */
  env: Record<string, string>;
}

export async function runAction(options: RunActionOptions): Promise<ActionRun> {
  const summaryFile = path.join(options.tmp, `${options.name}-summary.md`);
  const outputFile = path.join(options.tmp, `${options.name}-output.txt`);
  await writeFile(summaryFile, '');
  await writeFile(outputFile, '');
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(INPUT_|GITHUB_|ATHENA_)/.test(key)) env[key] = value;
  }
  // These runs exercise the Action's plumbing on the time channel; the work channel (valgrind, a
  // minute per arm) has its own end-to-end test (test/integration/gate/work-channel.test.ts) unless a test asks.
  const defaults: Record<string, string> = { measure: 'time' };
  for (const [input, spec] of Object.entries(action.inputs)) {
    // The runner expands ${{ github.token }} before the step starts.
    const value =
      options.inputs[input] ??
      defaults[input] ??
      (spec.default === '${{ github.token }}' ? 'ghs_e2e_token' : spec.default);
    env[`INPUT_${input.toUpperCase()}`] = value;
  }
  Object.assign(env, {
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: options.eventName,
    GITHUB_EVENT_PATH: options.eventPath,
    GITHUB_WORKSPACE: options.workspace,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_OUTPUT: outputFile,
    RUNNER_TEMP: options.tmp,
    ...options.env,
  });
  const child = spawn(process.execPath, [options.bundle], {
    cwd: options.workspace,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    exitCode,
    stdout,
    stderr,
    summary: readFileSync(summaryFile, 'utf8'),
    outputs: parseOutputs(readFileSync(outputFile, 'utf8')),
  };
}

/** The log lines of a run, for assertion messages; the masked secrets' own commands left out. */
export function explain(run: ActionRun): string {
  return (
    `exit ${run.exitCode}\n--- stdout (tail)\n${run.stdout.slice(-4000)}\n--- stderr\n${run.stderr.slice(-2000)}` +
    `\n--- summary (head)\n${run.summary.slice(0, 6000)}`
  );
}

/** The quick suite's point-select workload alone, short enough for a test: 1 s runs, no warmup. */
export function quickSelectSuite(name: string, rounds: number, threads: number): SuiteInput {
  const quickSelect = BUILTIN_SUITES.quick.workloads.find((w) => w.id === 'select');
  if (!quickSelect) throw new Error('the quick suite has no select workload');
  return {
    name,
    rounds,
    maxRounds: rounds,
    budgetMinutes: 2,
    workloads: [
      {
        ...quickSelect,
        threads,
        warmupSec: 0,
        options: { ...quickSelect.options, timeSec: 1 },
      } as SuiteInput['workloads'][number],
    ],
  };
}

/** The MySQL inputs for a throwaway server (as a service container's would be set). */
export function mysqlInputs(server: {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}): Record<string, string> {
  return {
    'mysql-host': server.host,
    'mysql-port': String(server.port),
    'mysql-user': server.user,
    'mysql-password': server.password,
    'mysql-database': server.database,
  };
}

export interface ActionWorkspace {
  tmp: string;
  /** A clone of this repository, its node_modules shared: the runs' builds leave this checkout alone. */
  workspace: string;
  bundle: string;
  server: LocalServer;
  remove(): Promise<void>;
}

/** What an end-to-end test of the Action on the real engine starts from; remove() in after(). */
export async function actionWorkspace(prefix: string): Promise<ActionWorkspace> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), prefix));
  const workspace = path.join(tmp, 'repo');
  execFileSync('git', ['clone', '--quiet', '--shared', repoRoot, workspace]);
  // The proxy build needs the dev dependencies (esbuild): share the repository's.
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(workspace, 'node_modules'), 'dir');
  const bundle = await buildActionBundle(path.join(tmp, 'dist', 'index.js'));
  const server = await startLocalServer();
  return {
    tmp,
    workspace,
    bundle,
    server,
    remove: async () => {
      await server.stop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
