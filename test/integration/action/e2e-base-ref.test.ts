import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ResultsSchema } from '../../../src/results/schema.ts';
import { findFreePort } from '../../../src/util/net.ts';
import {
  actionWorkspace,
  explain,
  mysqlInputs,
  quickSelectSuite,
  runAction,
  type ActionWorkspace,
} from '../../helpers/action.ts';

/**
 * Base-vs-head A/B through the bundled Action: on a pull request without a baseline file, the
 * merge-base is checked out in a worktree, built and run as a third arm next to the head, and the
 * head is gated against it. The workspace is a local clone of this repository, so the test owns
 * its git state.
 */

let fixture: ActionWorkspace;
let baseSha: string;
let headSha: string;

const git = (...args: string[]) =>
  execFileSync('git', ['-C', fixture.workspace, ...args], { encoding: 'utf8' }).trim();

before(async () => {
  fixture = await actionWorkspace('action-e2e-ab-');
  headSha = git('rev-parse', 'HEAD');
  baseSha = git('rev-parse', 'HEAD~1');
});

after(() => fixture?.remove());

test('no baseline on a pull request: the merge-base is built in a worktree and gated against, A/B', async () => {
  const { tmp, workspace, bundle, server } = fixture;
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
