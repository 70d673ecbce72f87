import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { findFreePort } from '../../../src/util/net.ts';
import { BUILTIN_SUITES } from '../../../src/suite/builtins.ts';
import type { SuiteInput } from '../../../src/suite/schema.ts';
import { commentMarker } from '../../../src/action/comment.ts';
import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.ts';
import {
  buildActionBundle,
  explain,
  mysqlInputs as mysqlServerInputs,
  repoRoot,
  runAction as runActionProcess,
  type ActionRun,
} from '../../helpers/action.ts';

/**
 * The Action as the runner runs it: `node dist/index.js` (bundled here exactly like
 * scripts/build.mjs bundles it) with INPUT_* variables, a pull_request event payload, the summary
 * and output files, and GITHUB_API_URL on a loopback server that answers like GitHub — against a
 * throwaway MariaDB, this repo's proxy (Athena) and real sysbench.
 */

const OWNER = 'acme';
const REPO = 'proxy';
const PR = 42;
const HEAD_SHA = '1'.repeat(40);
const BASE_SHA = '2'.repeat(40);
// A CPU cost per forwarded query, test-only (proxy/src/main.ts): makes the proxy arm measurably slower.
const BURN_US_PER_QUERY = '400';

let server: LocalServer;
let github: FakeGitHub;
let tmp: string;
let bundle: string;
let suiteFile: string;
let shortSuiteFile: string;
let proxyPort: number;
let metricsPort: number;
let baselineFile: string;
let eventFile: string;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'action-e2e-'));
  bundle = await buildActionBundle(path.join(tmp, 'dist', 'index.js'));
  [server, github] = await Promise.all([startLocalServer(), startFakeGitHub(OWNER, REPO)]);
  // Free ports rather than Athena's 3307/4307: other tests may run a proxy at the same time.
  proxyPort = await findFreePort();
  metricsPort = await findFreePort();

  // The quick suite's point-select workload, kept short for a test: 1 s runs without warmup.
  // The baseline and the regression run have 5 rounds, the fewest that can be significant after
  // Holm's correction over the workload's 5 gated metrics (5 vs 5 samples: p >= 0.008); the runs
  // that only check the comment have 2 (same suite name, so the same sticky comment).
  const quickSelect = BUILTIN_SUITES.quick.workloads.find((w) => w.id === 'select');
  assert.ok(quickSelect, 'the quick suite has its select workload');
  const suite = (rounds: number): SuiteInput => ({
    name: 'quick-select',
    description: 'quick suite, select workload only: the Action end-to-end test',
    rounds,
    maxRounds: rounds,
    budgetMinutes: 2,
    workloads: [
      {
        ...quickSelect,
        threads: 8,
        warmupSec: 0,
        options: { ...quickSelect.options, timeSec: 1 },
      } as SuiteInput['workloads'][number],
    ],
  });
  suiteFile = path.join(tmp, 'suite.json');
  await writeFile(suiteFile, JSON.stringify(suite(5), null, 2));
  shortSuiteFile = path.join(tmp, 'suite-short.json');
  await writeFile(shortSuiteFile, JSON.stringify(suite(2), null, 2));
  baselineFile = path.join(tmp, 'baselines', 'quick-select.json');

  // The shape of GitHub's pull_request event (the fields the Action and @actions/github read).
  eventFile = path.join(tmp, 'event.json');
  const repository = {
    id: 1,
    name: REPO,
    full_name: `${OWNER}/${REPO}`,
    owner: { login: OWNER, id: 2, type: 'Organization' },
    private: false,
    fork: false,
  };
  await writeFile(
    eventFile,
    JSON.stringify({
      action: 'synchronize',
      number: PR,
      pull_request: {
        id: 100,
        number: PR,
        state: 'open',
        title: 'Make the proxy faster',
        user: { login: 'contributor', id: 3, type: 'User' },
        head: { label: 'contributor:feature', ref: 'feature', sha: HEAD_SHA, repo: repository },
        base: { label: `${OWNER}:main`, ref: 'main', sha: BASE_SHA, repo: repository },
        draft: false,
        merged: false,
      },
      repository,
      sender: { login: 'contributor', id: 3, type: 'User' },
    }),
  );
});

after(async () => {
  await Promise.allSettled([server?.stop(), github?.close()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Runs the bundle like the runner, in this repository (its Athena is the proxy under test). */
function runAction(
  name: string,
  inputs: Record<string, string>,
  extraEnv: Record<string, string> = {},
  eventName = 'pull_request',
): Promise<ActionRun> {
  return runActionProcess({
    bundle,
    tmp,
    name,
    inputs,
    eventName,
    eventPath: eventFile,
    workspace: repoRoot,
    env: {
      GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
      GITHUB_SHA: HEAD_SHA,
      GITHUB_REF: `refs/pull/${PR}/merge`,
      GITHUB_API_URL: github.url,
      GITHUB_SERVER_URL: 'https://github.test',
      GITHUB_RUN_ID: '4242',
      ...extraEnv,
    },
  });
}

function mysqlInputs(): Record<string, string> {
  return {
    ...mysqlServerInputs(server),
    'mysql-ready-timeout': '30',
    'proxy-port': String(proxyPort),
    'proxy-metrics-url': `http://127.0.0.1:${metricsPort}/metrics`,
    suite: suiteFile,
    baseline: baselineFile,
  };
}

const stickyComments = () => github.comments.filter((c) => c.body.includes(commentMarker('quick-select')));

test('the Action end to end: baseline, regression fails, sticky comment created then updated, fork warns', async (t) => {
  await t.test('update-baseline writes the baseline file', async () => {
    const run = await runAction(
      'baseline',
      { ...mysqlInputs(), mode: 'update-baseline', 'results-dir': path.join(tmp, 'results-baseline') },
      {},
      'push',
    );
    assert.equal(run.exitCode, 0, explain(run));
    assert.ok(existsSync(baselineFile), explain(run));
    assert.match(run.outputs.summary ?? '', /Baseline for suite quick-select written/);
    assert.match(run.summary, /Direct MySQL \| Via Athena \| Overhead/);
    // The password appears only in the command that tells the runner to mask it.
    const logged = run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'));
    assert.ok(
      !logged.some((line) => line.includes(server.password)),
      'the MySQL password never reaches the log',
    );
    assert.ok(run.stdout.includes(`::add-mask::${server.password}\n`));
  });

  let commentUrl = '';
  await t.test(
    'an injected slowdown is a regression: the step fails and the comment is created',
    async () => {
      const resultsDir = path.join(tmp, 'results-regressed');
      const run = await runAction(
        'regressed',
        // The proxy only sees variables it is given (proxy-env), like any code under test.
        { ...mysqlInputs(), 'results-dir': resultsDir, 'proxy-env': 'ATHENA_TEST_BURN_US_PER_QUERY' },
        { ATHENA_TEST_BURN_US_PER_QUERY: BURN_US_PER_QUERY },
      );
      assert.equal(run.exitCode, 1, explain(run));
      assert.equal(run.outputs.verdict, 'regressed', explain(run));
      assert.equal(run.outputs.regressed, 'true');
      assert.match(run.stdout, /::error title=athena-bench%3A select regressed::Select \(8 threads\): /);
      assert.match(run.stdout, /::error::Performance regression: /);
      // The summary holds the verdict and the whole benchmark report.
      assert.match(run.summary, /^## athena-bench: 🔴 regressed\n/);
      assert.equal(run.summary.match(/## athena-bench: 🔴 regressed/g)?.length, 1, 'the verdict once');
      assert.match(run.summary, /Suite `quick-select` · compared with the baseline /);
      assert.match(run.summary, /\| Workload \| Threads \| Direct MySQL \| Via Athena \| Overhead \|/);
      assert.equal(run.outputs['results-path'], path.join(resultsDir, 'results.json'));
      assert.ok(existsSync(run.outputs['results-path']!));
      assert.ok(existsSync(run.outputs['report-path']!));
      assert.ok(run.outputs.summary && run.outputs.summary.length > 0);

      const posts = github.requests.filter((r) => r.method === 'POST');
      assert.equal(posts.length, 1, 'one comment created');
      assert.equal(posts[0]!.path, `/repos/${OWNER}/${REPO}/issues/${PR}/comments`);
      assert.equal(posts[0]!.authorization, 'token ghs_e2e_token');
      assert.equal(stickyComments().length, 1);
      commentUrl = run.outputs['comment-url'] ?? '';
      assert.match(commentUrl, /#issuecomment-\d+$/);
      assert.match(stickyComments()[0]!.body, /actions\/runs\/4242/);
      assert.ok(existsSync(path.join(resultsDir, 'comment.json')), 'the fork-safe artifact is written');
    },
  );

  await t.test('the next run updates the same comment, with discussion in between', async () => {
    github.seedComments(PR, ['Looks slow?', 'Pushed a fix.']);
    const run = await runAction('fixed', {
      ...mysqlInputs(),
      suite: shortSuiteFile,
      'results-dir': path.join(tmp, 'results-fixed'),
      // The step status is not what this run checks (noise may make any verdict); the comment is.
      'fail-on-regression': 'false',
    });
    assert.equal(run.exitCode, 0, explain(run));
    assert.equal(github.requests.filter((r) => r.method === 'POST').length, 1, 'still one comment created');
    const patches = github.requests.filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, 1);
    assert.equal(run.outputs['comment-url'], commentUrl);
    assert.equal(stickyComments().length, 1);
    const body = stickyComments()[0]!.body;
    assert.match(
      body,
      new RegExp(`^<!-- athena-bench:quick-select -->\n## athena-bench: .*${run.outputs.verdict}`),
    );
    assert.match(body, /Suite `quick-select` · compared with the baseline .*actions\/runs\/4242/);
  });

  await t.test('a fork pull request (403 on write) warns and still succeeds with the summary', async () => {
    github.readOnly = true;
    try {
      const run = await runAction('fork', {
        ...mysqlInputs(),
        suite: shortSuiteFile,
        'results-dir': path.join(tmp, 'results-fork'),
        'comment-on-pr': 'always',
        'fail-on-regression': 'false',
      });
      assert.equal(run.exitCode, 0, explain(run));
      assert.match(run.stdout, /::warning::Could not comment on pull request #42 \(HTTP 403\)/);
      assert.match(run.summary, /Via Athena/);
      assert.ok(['pass', 'improved', 'inconclusive', 'regressed'].includes(run.outputs.verdict ?? ''));
      assert.equal(run.outputs['comment-url'], '');
    } finally {
      github.readOnly = false;
    }
  });

  await t.test(
    'the fork-safe poster (workflow_run, mode: comment) updates the same comment from the artifact',
    async () => {
      // GitHub lists no pull request on a workflow_run from a fork: the Action checks the
      // artifact's pull request against the run's head commit instead.
      const runEvent = path.join(tmp, 'workflow-run-event.json');
      await writeFile(
        runEvent,
        JSON.stringify({
          action: 'completed',
          workflow_run: {
            id: 4242,
            name: 'perf-gate',
            event: 'pull_request',
            status: 'completed',
            conclusion: 'failure',
            head_sha: HEAD_SHA,
            html_url: `https://github.test/${OWNER}/${REPO}/actions/runs/4242`,
            pull_requests: [],
          },
          repository: { name: REPO, full_name: `${OWNER}/${REPO}`, owner: { login: OWNER } },
        }),
      );
      github.pullHeads.set(PR, HEAD_SHA);
      // Someone pasting the marker into a comment of their own does not take the sticky comment.
      github.seedComments(PR, [`${commentMarker('quick-select')}\n## athena-bench: ✅ pass`], 'mallory');
      const patchesBefore = github.requests.filter((r) => r.method === 'PATCH').length;
      const run = await runAction(
        'poster',
        { mode: 'comment', 'results-dir': path.join(tmp, 'results-regressed') },
        { GITHUB_EVENT_PATH: runEvent },
        'workflow_run',
      );
      assert.equal(run.exitCode, 0, explain(run));
      assert.ok(
        github.requests.some((r) => r.method === 'GET' && r.path === `/repos/${OWNER}/${REPO}/pulls/${PR}`),
      );
      assert.equal(github.requests.filter((r) => r.method === 'PATCH').length, patchesBefore + 1);
      assert.equal(github.requests.filter((r) => r.method === 'POST').length, 1, 'still one comment created');
      assert.equal(run.outputs['comment-url'], commentUrl);
      assert.equal(run.outputs.verdict, 'regressed');
      const ours = stickyComments().filter((c) => c.author === 'github-actions[bot]');
      assert.equal(ours.length, 1);
      // Rendered here from the structured results: the gated metrics' table and the run's link.
      assert.match(
        ours[0]!.body,
        /## athena-bench: 🔴 regressed\n\n\*\*\d+ regressions? in 1 workload: `select` /,
      );
      assert.match(
        ours[0]!.body,
        /\| workload \| gated metric \| baseline \| current \| Δ \| CI \| verdict \|/,
      );
      assert.match(
        ours[0]!.body,
        /\[full report in the run's job summary\]\(https:\/\/github\.test\/acme\/proxy\/actions\/runs\/4242\)/,
      );
      assert.match(run.outputs.summary ?? '', /^\d+ regressions? in 1 workload: select /);
      assert.match(stickyComments().find((c) => c.author === 'mallory')!.body, /✅ pass$/);
    },
  );
});

test('failures fail the step naming the part that broke and what to check', async (t) => {
  await t.test('a bad input', async () => {
    const run = await runAction('bad-input', { ...mysqlInputs(), 'mysql-port': 'abc' });
    assert.equal(run.exitCode, 1, explain(run));
    assert.match(run.stdout, /::error::input mysql-port: expected an integer 1-65535, got 'abc'/);
  });

  await t.test('MySQL refusing the credentials', async () => {
    const run = await runAction('bad-password', {
      ...mysqlInputs(),
      'mysql-password': 'not-the-password',
      'mysql-ready-timeout': '2',
      'results-dir': path.join(tmp, 'results-bad-password'),
    });
    assert.equal(run.exitCode, 1, explain(run));
    assert.match(
      run.stdout,
      new RegExp(`::error::MySQL at ${server.host}:${server.port} failed: .*not ready`),
    );
    assert.match(run.stdout, /authentication failed for user/);
    assert.match(run.stdout, /Check: the `services: mysql` block/);
    assert.match(run.summary, /the run failed/);
    const logged = run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'));
    assert.ok(!logged.some((line) => line.includes('not-the-password')));
  });

  await t.test('a proxy that exits at start', async () => {
    const run = await runAction('dead-proxy', {
      ...mysqlInputs(),
      mode: 'update-baseline',
      baseline: path.join(tmp, 'results-dead-proxy', 'never-written.json'),
      'proxy-start': 'echo "listener: address already in use" >&2; exit 7',
      'proxy-metrics-url': '',
      'results-dir': path.join(tmp, 'results-dead-proxy'),
    });
    assert.equal(run.exitCode, 1, explain(run));
    assert.match(run.stdout, /::error::the benchmark failed: /);
    assert.match(run.stdout, /address already in use/);
    assert.match(run.stdout, /Check: the proxy \(proxy-build, proxy-start, proxy-port/);
    assert.equal(run.outputs.verdict, undefined);
  });

  await t.test("the proxy's commands never see the inputs or the runner's tokens", async () => {
    const envFile = path.join(tmp, 'proxy-start.env');
    const run = await runAction(
      'proxy-env',
      {
        ...mysqlInputs(),
        mode: 'update-baseline',
        baseline: path.join(tmp, 'results-proxy-env', 'never-written.json'),
        'proxy-env': 'EXTRA_FOR_PROXY',
        'proxy-start': `env > ${envFile}; exit 7`,
        'proxy-metrics-url': '',
        'results-dir': path.join(tmp, 'results-proxy-env'),
      },
      {
        ACTIONS_RUNTIME_TOKEN: 'runtime-token-xyz',
        GITHUB_TOKEN: 'ghs_e2e_token',
        EXTRA_FOR_PROXY: 'listed',
      },
    );
    assert.equal(run.exitCode, 1, explain(run));
    const env = await readFile(envFile, 'utf8');
    for (const secret of [server.password, 'ghs_e2e_token', 'runtime-token-xyz']) {
      const leaked = env
        .split('\n')
        .filter((line) => line.includes(secret) && !line.startsWith('ATHENA_BENCH_MYSQL_PASSWORD='));
      assert.deepEqual(
        leaked.map((line) => line.split('=')[0]),
        [],
        'variables holding a secret',
      );
    }
    assert.doesNotMatch(env, /^(INPUT_|ACTIONS_|GITHUB_)/m);
    assert.match(env, /^EXTRA_FOR_PROXY=listed$/m);
    assert.match(env, new RegExp(`^ATHENA_BENCH_PROXY_PORT=${proxyPort}$`, 'm'));
  });
});
