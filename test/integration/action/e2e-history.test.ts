import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { appendToDataBranch } from '../../../src/action/history-branch.ts';
import { alertMarker } from '../../../src/action/history-alert.ts';
import type { HistoryPoint } from '../../../src/history/schema.ts';
import { parseHistory } from '../../../src/history/store.ts';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { realExec } from '../../../src/util/exec.ts';
import { findFreePort } from '../../../src/util/net.ts';
import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.ts';
import {
  buildActionBundle,
  explain,
  mysqlInputs,
  quickSelectSuite,
  repoRoot,
  runAction,
  type ActionRun,
} from '../../helpers/action.ts';
import { normalDraws, syntheticSha } from '../../helpers/series.ts';

/**
 * mode history through the bundled Action, as on pushes to the default branch: each run benchmarks
 * (a throwaway MariaDB, this repository's Athena, real sysbench), appends its point to the data
 * branch of a local bare remote, and a proxy slowdown that starts at one push opens an alert issue
 * in the loopback GitHub API once the history shows it; a later push updates that issue.
 */

const BRANCH = 'athena-bench-data';
const SUITE = 'quick-select-history';
// A CPU cost per forwarded query, test-only (proxy/src/main.ts): the injected step.
const BURN = { ATHENA_TEST_BURN_US_PER_QUERY: '400' };

let server: LocalServer;
let github: FakeGitHub;
let tmp: string;
let bundle: string;
let workspace: string;
let remote: string;
let suiteFile: string;
let eventFile: string;

const pushSha = (i: number) => syntheticSha(1000 + i);

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'action-e2e-history-'));
  remote = path.join(tmp, 'remote.git');
  execFileSync('git', ['init', '--quiet', '--bare', remote]);
  workspace = path.join(tmp, 'repo');
  execFileSync('git', ['clone', '--quiet', '--shared', repoRoot, workspace]);
  // The test owns the remote the Action pushes to: never this repository.
  execFileSync('git', ['-C', workspace, 'remote', 'set-url', 'origin', remote]);
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(workspace, 'node_modules'), 'dir');
  bundle = await buildActionBundle(path.join(tmp, 'dist', 'index.js'));
  [server, github] = await Promise.all([startLocalServer(), startFakeGitHub('acme', 'proxy')]);
  const suite = quickSelectSuite(SUITE, 2, 4);
  suiteFile = path.join(tmp, 'suite.json');
  await writeFile(suiteFile, JSON.stringify(suite));
  eventFile = path.join(tmp, 'event.json');
  await writeFile(
    eventFile,
    JSON.stringify({ ref: 'refs/heads/main', repository: { name: 'proxy', full_name: 'acme/proxy' } }),
  );
});

after(async () => {
  await Promise.allSettled([server?.stop(), github?.close()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function push(i: number, env: Record<string, string> = {}): Promise<ActionRun> {
  return runAction({
    bundle,
    tmp,
    name: `push-${i}`,
    eventName: 'push',
    eventPath: eventFile,
    workspace,
    inputs: {
      ...mysqlInputs(server),
      'proxy-port': String(await findFreePort()),
      'proxy-metrics-url': `http://127.0.0.1:${await findFreePort()}/metrics`,
      suite: suiteFile,
      mode: 'history',
      'results-dir': path.join(tmp, `results-${i}`),
      // The proxy only sees the variables it is given: the slowdown's among them.
      'proxy-env': 'ATHENA_TEST_BURN_US_PER_QUERY',
    },
    env: {
      GITHUB_REPOSITORY: 'acme/proxy',
      GITHUB_SHA: pushSha(i),
      GITHUB_REF: 'refs/heads/main',
      GITHUB_API_URL: github.url,
      GITHUB_SERVER_URL: 'https://github.test',
      GITHUB_RUN_ID: String(5000 + i),
      ...env,
    },
  });
}

function branchPoints(): HistoryPoint[] {
  const text = execFileSync('git', ['-C', remote, 'show', `${BRANCH}:${SUITE}.json`], { encoding: 'utf8' });
  return parseHistory(text, `${SUITE}.json`).points;
}

/**
 * Earlier history, as if many pushes had run: copies of a measured point with other commits and
 * medians moved by 8% noise (about what separates two runs of this suite here). A change point
 * needs a history behind it: with 999 permutations at the 0.001 level, three points after a step
 * are only significant after a few dozen before it.
 */
async function seedHistory(template: HistoryPoint, count: number): Promise<void> {
  const draw = normalDraws(77);
  const points = Array.from({ length: count }, (_, i): HistoryPoint => {
    const workloads = structuredClone(template.workloads);
    for (const w of Object.values(workloads))
      for (const a of Object.values(w.arms))
        for (const s of Object.values(a.metrics)) {
          const f = 1 + 0.08 * draw();
          Object.assign(s, {
            median: s.median * f,
            min: s.min * f,
            max: s.max * f,
            q1: s.q1 * f,
            q3: s.q3 * f,
          });
        }
    return {
      ...template,
      commit: syntheticSha(i),
      time: new Date(Date.parse(template.time) - (count - i) * 3600_000).toISOString(),
      workloads,
    };
  });
  const seeder = path.join(tmp, 'seeder');
  execFileSync('git', ['clone', '--quiet', remote, seeder]);
  await appendToDataBranch({
    exec: realExec,
    repoRoot: seeder,
    remote: 'origin',
    branch: BRANCH,
    suite: SUITE,
    points,
    retention: 1000,
    message: 'earlier history',
    attempts: 3,
    sleep: () => Promise.resolve(),
    log: () => undefined,
  });
}

const alerts = () => github.issues.filter((i) => i.body.includes(alertMarker(SUITE)));

test('pushes to the default branch: points appended, a step opens one alert issue, a later push updates it', async (t) => {
  await t.test('the first push creates the data branch with its point, no alert', async () => {
    const run = await push(0);
    assert.equal(run.exitCode, 0, explain(run));
    assert.deepEqual(
      branchPoints().map((p) => p.commit),
      [pushSha(0)],
    );
    assert.equal(branchPoints()[0]!.runUrl, 'https://github.test/acme/proxy/actions/runs/5000');
    assert.match(
      run.outputs.summary ?? '',
      /History of quick-select-history: 1 point\(s\) on athena-bench-data, 0 change point/,
    );
    assert.equal(alerts().length, 0);
  });

  await t.test(
    'three slowed-down pushes: three points appended, the third opens the alert issue',
    async () => {
      await seedHistory(branchPoints()[0]!, 40);
      for (const i of [1, 2, 3]) {
        const run = await push(i, BURN);
        assert.equal(run.exitCode, 0, explain(run));
        assert.equal(branchPoints().length, 41 + i, 'each push appends one point');
        if (i < 3) assert.equal(alerts().length, 0, `no alert after push ${i}: ${JSON.stringify(alerts())}`);
      }
      assert.deepEqual(
        branchPoints()
          .slice(-3)
          .map((p) => p.commit),
        [1, 2, 3].map(pushSha),
      );
      assert.equal(alerts().length, 1, JSON.stringify(github.issues));
      const issue = alerts()[0]!;
      assert.equal(issue.state, 'open');
      // The step started at push 1: the issue names the commit range into it (from the point
      // appended last before it) and the shift.
      const range = `\`${syntheticSha(39).slice(0, 7)}..${pushSha(1).slice(0, 7)}\``;
      assert.ok(issue.body.includes(`| select | cpu_us_per_query | ${range} | +`), issue.body);
      assert.match(issue.body, /cpu_us_per_query \| `[0-9a-f]{7}\.\.[0-9a-f]{7}` \| \+\d+\.\d\d% \(worse\)/);
      assert.match(issue.title, new RegExp(`^athena-bench: ${SUITE} .* at ${pushSha(1).slice(0, 7)}`));
      assert.ok(issue.body.includes('https://github.test/acme/proxy/actions/runs/5003'), 'links the run');
    },
  );

  await t.test('a fourth push updates the same issue instead of opening another', async () => {
    const issue = alerts()[0]!;
    const run = await push(4, BURN);
    assert.equal(run.exitCode, 0, explain(run));
    assert.equal(github.issues.length, 1, 'no second issue');
    assert.ok(issue.body.includes(`Last checked at [${pushSha(4).slice(0, 7)}]`), issue.body);
    const patches = github.requests.filter(
      (r) => r.method === 'PATCH' && r.path.endsWith(`/issues/${issue.number}`),
    );
    assert.equal(patches.length, 1);
    assert.match(run.outputs.summary ?? '', new RegExp(`alert issue #${issue.number} updated`));
  });
});
