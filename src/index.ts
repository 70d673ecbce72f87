// GitHub Action entry point (action.yml: main: dist/index.js). It only wires the real parts
// together; the behaviour is in src/action/run.ts, tested with doubles for every part wired here.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { realBenchmarker, realVerdicts } from './action/engine-adapter.ts';
import { gitOps } from './gate/git.ts';
import {
  actionCore,
  githubApi,
  githubContext,
  githubDefaultBranch,
  githubIssues,
} from './action/github-adapter.ts';
import { appendToDataBranch } from './action/history-branch.ts';
import { run } from './action/run.ts';
import { createProgress } from './harness/progress.ts';
import { errorMessage } from './util/errors.ts';
import { waitForServer } from './mysql/index.ts';
import { realExec } from './util/exec.ts';

async function main(): Promise<void> {
  const core = actionCore();
  const github = githubContext();
  const log = (line: string) => core.info(line);
  await run({
    core,
    github,
    githubApi: (token) => githubApi(token, github.repository),
    git: gitOps(realExec),
    bench: realBenchmarker({
      exec: realExec,
      log,
      // Plain lines: a live, rewritten line is noise in a CI log.
      progress: createProgress({ write: (text: string) => process.stdout.write(text), isTTY: false }),
      env: process.env,
    }),
    verdicts: realVerdicts(),
    waitForMysql: (conn, timeoutMs) => waitForServer(conn, timeoutMs),
    workspace: process.env.GITHUB_WORKSPACE || process.cwd(),
    packageRoot: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'),
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    history: {
      appendToDataBranch: (options) => appendToDataBranch({ ...options, exec: realExec }),
      issues: (token) => githubIssues(token, github.repository),
      defaultBranch: (token) => githubDefaultBranch(token, github.repository),
    },
  });
}

main().then(
  // Exit now: a handle some library left open must not keep the job step running.
  () => process.exit(),
  (error: unknown) => {
    actionCore().setFailed(`athena-bench could not start: ${errorMessage(error)}`);
    process.exit();
  },
);
