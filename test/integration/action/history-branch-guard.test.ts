// history-branch may not name the code's own branch: the default branch (asked of the loopback
// GitHub API through the real Octokit adapter), the pushed branch, or main/master.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ActionDeps } from '../../../src/action/deps.ts';
import { githubDefaultBranch } from '../../../src/action/github-adapter.ts';
import { refuseCodeBranchAsHistory } from '../../../src/action/history-branch-guard.ts';
import { recordHistory } from '../../../src/action/history-mode.ts';
import { readActionConfig } from '../../../src/action/inputs.ts';
import { UsageError } from '../../../src/util/errors.ts';
import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.ts';

let github: FakeGitHub;
before(async () => {
  github = await startFakeGitHub('acme', 'proxy');
});
after(async () => {
  await github?.close();
});

const askApi = () => githubDefaultBranch('ghs_test', 'acme/proxy', { GITHUB_API_URL: github.url });

async function check(branch: string, ref: string, ask: (() => Promise<string>) | null) {
  const warnings: string[] = [];
  await refuseCodeBranchAsHistory({ branch, ref, defaultBranch: ask, warning: (w) => warnings.push(w) });
  return warnings;
}

test("the repository's default branch, as the API reports it, is refused naming the input", async () => {
  github.defaultBranch = 'trunk';
  await assert.rejects(
    check('trunk', 'refs/heads/release', askApi),
    (error: unknown) =>
      error instanceof UsageError &&
      /^input history-branch: 'trunk' is the repository's default branch; .*such as athena-bench-data$/.test(
        error.message,
      ),
  );
  assert.ok(github.requests.some((r) => r.method === 'GET' && r.path === '/repos/acme/proxy'));
  assert.deepEqual(await check('athena-bench-data', 'refs/heads/trunk', askApi), []);
});

test('without the API, main, master and the pushed branch are still refused, with a warning otherwise', async () => {
  github.defaultBranch = null; // GET /repos answers 403
  try {
    for (const branch of ['main', 'master']) {
      await assert.rejects(check(branch, '', askApi), /input history-branch: '.*' is a code branch name/);
    }
    await assert.rejects(
      check('develop', 'refs/heads/develop', null),
      /input history-branch: 'develop' is the branch this run was pushed to/,
    );
    const warnings = await check('perf-data', 'refs/heads/develop', askApi);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^Could not read the repository's default branch \(.*403.*\)/);
    assert.match((await check('perf-data', '', null))[0]!, /^No github-token/);
  } finally {
    github.defaultBranch = 'main';
  }
});

test('mode history refuses history-branch = the default branch before it measures anything', async () => {
  github.defaultBranch = 'production';
  const failures: string[] = [];
  const inputs: Record<string, string> = {
    mode: 'history',
    'history-branch': 'production',
    'github-token': 'ghs_test',
  };
  const core = {
    getInput: (name: string) => inputs[name] ?? '',
    setSecret: () => {},
    info: () => {},
    warning: () => {},
    error: () => {},
    setFailed: (m: string) => failures.push(m),
    setOutput: () => {},
    writeSummary: async () => {},
  };
  const deps = {
    core,
    github: {
      eventName: 'push',
      repository: 'acme/proxy',
      sha: 'a'.repeat(40),
      ref: 'refs/heads/x',
      runUrl: null,
    },
    sleep: async () => {},
    history: {
      appendToDataBranch: () => assert.fail('nothing is appended'),
      issues: () => assert.fail('no alert'),
      defaultBranch: () => askApi(),
    },
  } as unknown as ActionDeps;
  await assert.rejects(
    recordHistory(
      deps,
      readActionConfig(core),
      '/nonexistent',
      {
        prepare: () => assert.fail('the suite is not even loaded'),
        bench: () => assert.fail('nothing is measured'),
        step: (_part, _check, fn) => fn(),
      },
      () => {},
    ),
    /input history-branch: 'production' is the repository's default branch/,
  );
  github.defaultBranch = 'main';
});
