import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startLocalServer, type LocalServer } from '../src/mysql/index.ts';
import { ResultsSchema } from '../src/results/schema.ts';
import { findFreePort } from '../src/util/net.ts';
import {
  buildActionBundle,
  explain,
  mysqlInputs,
  quickSelectSuite,
  repoRoot,
  runAction,
} from './action-runner.ts';

/**
 * Base-vs-head A/B through the bundled Action: on a pull request without a baseline file, the
 * merge-base is checked out in a worktree, built and run as a third arm next to the head, and the
 * head is gated against it. The workspace is a local clone of this repository, so the test owns
 * its git state.
 */

let server: LocalServer;
let tmp: string;
let bundle: string;
let workspace: string;
let baseSha: string;
let headSha: string;

const git = (...args: string[]) =>
  execFileSync('git', ['-C', workspace, ...args], { encoding: 'utf8' }).trim();

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'action-e2e-ab-'));
  workspace = path.join(tmp, 'repo');
  execFileSync('git', ['clone', '--quiet', '--shared', repoRoot, workspace]);
  // The proxy build needs the dev dependencies (esbuild): share the repository's.
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(workspace, 'node_modules'), 'dir');
  headSha = git('rev-parse', 'HEAD');
  baseSha = git('rev-parse', 'HEAD~1');
  bundle = await buildActionBundle(path.join(tmp, 'dist', 'index.js'));
  server = await startLocalServer();
});

after(async () => {
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('no baseline on a pull request: the merge-base is built in a worktree and gated against, A/B', async () => {
  const suite = quickSelectSuite('quick-select-ab', 2, 4);
  const suiteFile = path.join(tmp, 'suite.json');
  await writeFile(suiteFile, JSON.stringify(suite));
  const eventPath = path.join(tmp, 'event.json');
  const repository = { name: 'proxy', full_name: 'acme/proxy', owner: { login: 'acme' } };
  await writeFile(
    eventPath,
    JSON.stringify({
      action: 'opened',
      number: 7,
      pull_request: {
        number: 7,
        head: { sha: headSha, ref: 'feature', repo: repository },
        base: { sha: baseSha, ref: 'main', repo: repository },
      },
      repository,
    }),
  );
  const resultsDir = path.join(tmp, 'results');
  const run = await runAction({
    bundle,
    tmp,
    name: 'ab',
    eventName: 'pull_request',
    eventPath,
    workspace,
    inputs: {
      ...mysqlInputs(server),
      'proxy-port': String(await findFreePort()),
      'proxy-metrics-url': `http://127.0.0.1:${await findFreePort()}/metrics`,
      suite: suiteFile,
      'results-dir': resultsDir,
      // Two rounds cannot be significant: this run checks the A/B plumbing, not a verdict.
      'fail-on-regression': 'false',
      'comment-on-pr': 'never',
    },
    env: { GITHUB_REPOSITORY: 'acme/proxy', GITHUB_SHA: headSha, GITHUB_API_URL: 'http://127.0.0.1:9' },
  });
  assert.equal(run.exitCode, 0, explain(run));
  const short = baseSha.slice(0, 12);
  assert.match(run.stdout, new RegExp(`verdict: head against merge-base ${short}, built from ${workspace}`));
  assert.match(
    run.summary,
    new RegExp(
      `Suite \`quick-select-ab\` · compared with merge-base ${short} \\(${short}\\), built and run in the same job`,
    ),
  );
  assert.ok(
    ['pass', 'improved', 'regressed', 'inconclusive'].includes(run.outputs.verdict ?? ''),
    explain(run),
  );

  const results = ResultsSchema.parse(
    JSON.parse(readFileSync(path.join(resultsDir, 'results.json'), 'utf8')),
  );
  assert.deepEqual(results.arms.map((a) => [a.name, a.role]).sort(), [
    ['base', 'base'],
    ['direct', 'direct'],
    ['proxy', 'proxy'],
  ]);
  assert.equal(results.arms.find((a) => a.name === 'base')?.commit, baseSha);
  const baseSamples = results.workloads[0]?.samples.filter((s) => s.arm === 'base') ?? [];
  assert.equal(baseSamples.length, 2, 'the base arm ran every round');
  // The worktree is gone.
  assert.equal(git('worktree', 'list', '--porcelain').match(/^worktree /gm)?.length, 1);
});
