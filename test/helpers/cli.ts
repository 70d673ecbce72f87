// Shared by the test/integration/gate/cli-*.test.ts files: run the CLI as a child process (through tsx, as a user
// would with `npx tsx src/cli.ts`) with a private TMPDIR, and find what it may have left behind.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatMysqlUrl, startLocalServer, type LocalServer } from '../../src/mysql/index.ts';
import { ResultsSchema, type Results } from '../../src/results/schema.ts';
import { baselineCommand } from '../../src/cli/verdict.ts';

import { repoRoot } from '../../scripts/bundles.mjs';

export { repoRoot };

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliHandle {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** Resolves when stderr has printed a line matching re. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<void>;
}

export function startCli(given: string[], env: NodeJS.ProcessEnv = {}): CliHandle {
  const started = Date.now();
  // `run` is tested here on the time channel; the work channel (valgrind, a minute per arm) has its
  // own end-to-end test (test/integration/gate/work-channel.test.ts), so a run measures work only when a test asks.
  const args =
    given[0] === 'run' && !given.includes('--measure') && !given.includes('--help')
      ? [...given, '--measure', 'time']
      : given;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/cli.ts'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const stderrWaiters: Array<{ re: RegExp; resolve: () => void }> = [];
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    for (const w of [...stderrWaiters]) {
      if (w.re.test(stderr)) {
        stderrWaiters.splice(stderrWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })),
  );
  return {
    child,
    done,
    waitForStderr: (re, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(stderr)) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`no ${re} on stderr within ${timeoutMs} ms:\n${stderr}`)),
          timeoutMs,
        );
        stderrWaiters.push({
          re,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      }),
  };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, env).done;
}

/** A TMPDIR of its own for one CLI run, so what it leaves there is its own. */
export function privateTmp(parent: string): string {
  return mkdtempSync(path.join(parent, 'tmp-'));
}

/** Processes whose command line mentions any of the markers (paths only this run used). */
export function processesMentioning(markers: string[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (markers.some((m) => cmd.includes(m))) found.push(`${entry}: ${cmd}`);
    } catch {
      // Exited meanwhile.
    }
  }
  return found;
}

/** athena-bench-* entries in a temp directory. */
export function benchTempDirs(dir = os.tmpdir()): string[] {
  return readdirSync(dir).filter((e) => e.startsWith('athena-bench-'));
}

/** Polls until no process mentions the markers (a just-killed process may linger a moment). */
export async function expectNoProcesses(markers: string[], timeoutMs = 5000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = processesMentioning(markers);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Writes a one-workload suite (sysbench point selects on a small table) to DIR/NAME.json. */
export function writePointSelectSuite(
  dir: string,
  name: string,
  rounds: number,
  timeSec: number,
  threads = 4,
): string {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name,
      rounds,
      workloads: [
        {
          id: 'select',
          title: 'Select',
          driver: 'sysbench',
          threads,
          options: { test: 'oltp_point_select', tables: 1, tableSize: 200, timeSec },
        },
      ],
    }),
  );
  return file;
}

/** The results.json a run wrote to its out dir, validated. */
export function readResults(outDir: string): Results {
  return ResultsSchema.parse(JSON.parse(readFileSync(path.join(outDir, 'results.json'), 'utf8')));
}

/** What a CLI test file runs against: a throwaway MariaDB, its URL (password included), a scratch dir. */
export interface MysqlScratch {
  server: LocalServer;
  mysqlUrl: string;
  scratch: string;
  /** Stops the server and removes the scratch directory. */
  stop(): Promise<void>;
}

/**
 * For a CLI test file's before(): starts the server and makes the scratch directory; with
 * buildProxy, builds proxy/dist/athena.js first (runs launch the proxy from its bundle).
 */
export async function startMysqlScratch(
  prefix: string,
  opts: { buildProxy?: boolean } = {},
): Promise<MysqlScratch> {
  if (opts.buildProxy) {
    const build = spawnSync(process.execPath, ['scripts/build.mjs', '--proxy-only'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    assert.equal(build.status, 0, build.stderr);
  }
  const server = await startLocalServer();
  const scratch = mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    server,
    scratch,
    mysqlUrl: formatMysqlUrl(server, { revealPassword: true }),
    stop: async () => {
      await server.stop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** `athena-bench run` of suiteFile against the fixture's server into outDir, extra flags appended. */
export function runSuite(
  fixture: Pick<MysqlScratch, 'mysqlUrl'>,
  suiteFile: string,
  outDir: string,
  extra: string[] = [],
): Promise<CliResult> {
  return runCli(['run', '--mysql', fixture.mysqlUrl, '--suite', suiteFile, '--out', outDir, ...extra]);
}

/**
 * A run of suiteFile into DIR/first (measured only: --no-baseline) and its baseline written to
 * DIR/baseline.json with `athena-bench baseline`: what a verdict test compares with.
 */
export async function measureBaseline(
  fixture: Pick<MysqlScratch, 'mysqlUrl' | 'scratch'>,
  suiteFile: string,
  extra: string[] = [],
): Promise<{ runDir: string; baselineFile: string }> {
  const runDir = path.join(fixture.scratch, 'first');
  const measured = await runSuite(fixture, suiteFile, runDir, ['--no-baseline', ...extra]);
  assert.equal(measured.code, 0, measured.stderr);
  const baselineFile = path.join(fixture.scratch, 'baseline.json');
  const io = { stdout: () => undefined, stderr: (s: string) => assert.fail(s), env: {}, cwd: repoRoot };
  const written = await baselineCommand(
    ['--results', path.join(runDir, 'results.json'), '--out', baselineFile],
    io,
  );
  assert.equal(written, 0);
  return { runDir, baselineFile };
}
