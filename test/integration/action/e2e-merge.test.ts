import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { commentMarker } from '../../../src/action/comment.ts';
import { assignShards, suiteHash } from '../../../src/gate/shard.ts';
import { ResultsSchema, type Results } from '../../../src/results/schema.ts';
import { compareArms } from '../../../src/verdict/compare.ts';
import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.ts';
import { buildActionBundle, explain, runAction, type ActionRun } from '../../helpers/action.ts';
import { armsFor, makeResults } from '../../helpers/results.ts';

/**
 * The Action's mode merge as the runner runs it (the bundle, INPUT_* variables, a pull_request
 * event, GITHUB_API_URL on a loopback fake of GitHub): the shards' artifacts downloaded under
 * results-dir, one directory each, give one verdict — the one a single run of the whole suite
 * gets — and one sticky comment. The shards' results are built from fixed samples (the shard runs
 * themselves are the CLI test's: test/integration/gate/cli-merge.test.ts).
 */

const OWNER = 'acme';
const REPO = 'proxy';
const PR = 42;
const HEAD_SHA = '1'.repeat(40);
const BASE_SHA = '2'.repeat(40);

let github: FakeGitHub;
let tmp: string;
let bundle: string;
let eventFile: string;
let whole: Results;

/** Base-vs-head results of four workloads, one of them 20% slower in the head arm. */
function wholeRun(): Results {
  const workload = (id: string, slowdown: number, seed: number) => {
    const head = armsFor(6, { tps: 1000, slowdown, seed });
    const base = armsFor(6, { tps: 1000, seed: seed + 50 });
    return { id, arms: { direct: head.direct!, proxy: head.proxy!, base: base.proxy! } };
  };
  const results = makeResults({
    workloads: [
      workload('read-write', 0, 1),
      workload('select', 0.2, 2),
      workload('insert', 0, 3),
      workload('update', 0, 4),
    ],
    commit: HEAD_SHA,
  });
  return { ...results, arms: results.arms.map((a) => (a.role === 'base' ? { ...a, commit: BASE_SHA } : a)) };
}

/** Shard `index` of 2 of the whole run, as `run --shard index/2` would have written it. */
function shardOf(index: number): Results {
  const ids = new Set(assignShards(whole.suite, 2)[index - 1]);
  return ResultsSchema.parse({
    ...whole,
    suite: { ...whole.suite, workloads: whole.suite.workloads.filter((w) => ids.has(w.id)) },
    workloads: whole.workloads.filter((w) => ids.has(w.id)),
    shard: {
      index,
      count: 2,
      suiteHash: suiteHash(whole.suite),
      suiteWorkloads: whole.suite.workloads.map((w) => w.id),
      reference: { kind: 'base-ref', commit: BASE_SHA },
    },
  });
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'action-e2e-merge-'));
  [bundle, github] = await Promise.all([
    buildActionBundle(path.join(tmp, 'dist', 'index.js')),
    startFakeGitHub(OWNER, REPO),
  ]);
  whole = wholeRun();
  await writeFile(path.join(tmp, 'suite.json'), JSON.stringify(whole.suite));
  const repository = { id: 1, name: REPO, full_name: `${OWNER}/${REPO}`, owner: { login: OWNER, id: 2 } };
  eventFile = path.join(tmp, 'event.json');
  await writeFile(
    eventFile,
    JSON.stringify({
      action: 'synchronize',
      number: PR,
      pull_request: {
        number: PR,
        head: { ref: 'feature', sha: HEAD_SHA, repo: repository },
        base: { ref: 'main', sha: BASE_SHA, repo: repository },
      },
      repository,
    }),
  );
});

after(async () => {
  await github?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function mergeRun(name: string, shards: number[]): Promise<ActionRun> {
  const resultsDir = path.join(tmp, name);
  for (const index of shards) {
    const dir = path.join(resultsDir, `athena-bench-shard-${index}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'results.json'), JSON.stringify(shardOf(index)));
  }
  return runAction({
    bundle,
    tmp,
    name,
    inputs: { mode: 'merge', suite: 'suite.json', 'results-dir': resultsDir, 'comment-on-pr': 'always' },
    eventName: 'pull_request',
    eventPath: eventFile,
    workspace: tmp,
    env: {
      GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
      GITHUB_SHA: HEAD_SHA,
      GITHUB_API_URL: github.url,
      GITHUB_SERVER_URL: 'https://github.test',
      GITHUB_RUN_ID: '4343',
    },
  });
}

test('mode merge: two shards give the whole run’s verdict and one sticky comment', async () => {
  const single = compareArms(whole, 'proxy', 'base');
  assert.equal(single.verdict, 'regressed', 'the fixture has a regression to find');
  const run = await mergeRun('merged-ok', [1, 2]);
  assert.equal(run.exitCode, 1, explain(run));
  assert.equal(run.outputs.verdict, 'regressed', explain(run));
  assert.equal(run.outputs.summary, single.summaryLine, 'the verdict of one run of the whole suite');
  const merged = ResultsSchema.parse(JSON.parse(await readFile(run.outputs['results-path']!, 'utf8')));
  assert.deepEqual(
    merged.workloads.map((w) => w.id),
    whole.workloads.map((w) => w.id),
  );
  assert.match(run.summary, new RegExp(`Time \\(${single.families.time} gated timings\\)`));
  assert.match(run.summary, /Suite `fixture` · 2 shards merged · compared with arm base \(222222222222\)/);
  const sticky = github.comments.filter((c) => c.body.includes(commentMarker('fixture')));
  assert.equal(sticky.length, 1, 'one comment for the whole matrix');
  assert.match(run.outputs['comment-url'] ?? '', new RegExp(`#issuecomment-${sticky[0]!.id}$`));
  assert.match(sticky[0]!.body, /2 shards merged/);
});

test('mode merge: a missing shard fails the step naming it, and comments nothing', async () => {
  const before = github.comments.length;
  const run = await mergeRun('merged-missing', [1]);
  assert.equal(run.exitCode, 1, explain(run));
  assert.match(run.stdout, /::error::shard 2\/2 missing/);
  assert.match(run.summary, /shard 2\/2 missing/);
  assert.equal(github.comments.length, before);
});
