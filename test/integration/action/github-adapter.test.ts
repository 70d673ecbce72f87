import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { githubApi, githubContext } from '../../../src/action/github-adapter.ts';
import { commentMarker, upsertStickyComment, type UpsertOptions } from '../../../src/action/comment.ts';
import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.ts';

/** The real Octokit client against a loopback server that answers like GitHub's API. */

let github: FakeGitHub;
before(async () => {
  github = await startFakeGitHub('acme', 'proxy');
});
after(async () => {
  await github.close();
});

function upsert(overrides: Partial<UpsertOptions> = {}) {
  const logs: string[] = [];
  const options: UpsertOptions = {
    api: githubApi('ghs_test', 'acme/proxy', { GITHUB_API_URL: github.url }),
    issueNumber: 12,
    suite: 'quick',
    body: 'first verdict',
    policy: 'always',
    changed: true,
    log: { info: (m) => logs.push(m), warning: (m) => logs.push(`warning: ${m}`) },
    sleep: async () => undefined,
    ...overrides,
  };
  return { promise: upsertStickyComment(options), logs };
}

test('pages through 250 comments (Link rel="next"), creates once, then updates the same comment', async () => {
  github.seedComments(
    12,
    Array.from({ length: 250 }, (_, i) => `discussion ${i}`),
  );
  const created = await upsert().promise;
  assert.equal(created.action, 'created');
  const lists = github.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/comments'));
  assert.deepEqual(
    lists.map((r) => r.query.page),
    ['1', '2', '3'],
  );
  assert.equal(lists[0]?.query.per_page, '100');
  assert.equal(lists[0]?.authorization, 'token ghs_test');
  const post = github.requests.find((r) => r.method === 'POST');
  assert.equal(post?.path, '/repos/acme/proxy/issues/12/comments');
  assert.match((post?.body as { body: string }).body, new RegExp(`^${commentMarker('quick')}\n`));

  const updated = await upsert({ body: 'second verdict' }).promise;
  assert.equal(updated.action, 'updated');
  assert.equal(updated.url, created.url);
  const sticky = github.comments.filter((c) => c.body.includes(commentMarker('quick')));
  assert.equal(sticky.length, 1);
  assert.match(sticky[0]!.body, /second verdict/);
  assert.equal(github.requests.filter((r) => r.method === 'PATCH').length, 1);
});

test("a stranger's comment carrying the marker is never edited; the token's own comments are", async () => {
  // GITHUB_TOKEN: GET /user answers 403, the sticky comment is github-actions[bot]'s.
  github.seedComments(15, [`${commentMarker('quick')}\n## athena-bench: ✅ pass`], 'mallory');
  const created = await upsert({ issueNumber: 15 }).promise;
  assert.equal(created.action, 'created');
  const onPr = () => github.comments.filter((c) => c.issue === 15);
  assert.deepEqual(
    onPr().map((c) => [c.author, c.body.endsWith('✅ pass')]),
    [
      ['mallory', true],
      ['github-actions[bot]', false],
    ],
  );
  assert.ok(github.requests.some((r) => r.method === 'GET' && r.path === '/user'));
  assert.equal((await upsert({ issueNumber: 15, body: 'again' }).promise).action, 'updated');
  assert.match(onPr()[1]!.body, /again/);

  // A personal access token: its user's comments are found, github-actions[bot]'s still are.
  github.tokenLogin = 'perf-bot';
  try {
    github.seedComments(16, [`${commentMarker('quick')}\nby the user`], 'perf-bot');
    assert.equal((await upsert({ issueNumber: 16, body: 'updated by pat' }).promise).action, 'updated');
    assert.match(github.comments.find((c) => c.issue === 16)!.body, /updated by pat/);
    assert.equal((await upsert({ issueNumber: 15, body: 'still the bot one' }).promise).action, 'updated');
    assert.match(onPr()[1]!.body, /still the bot one/);
  } finally {
    github.tokenLogin = null;
  }
});

test('a read-only token (fork) gets 403: a warning, no throw', async () => {
  github.readOnly = true;
  try {
    const { promise, logs } = upsert({ issueNumber: 13 });
    const outcome = await promise;
    assert.equal(outcome.action, 'forbidden');
    assert.ok(logs.some((l) => l.startsWith('warning:') && l.includes('HTTP 403') && l.includes('fork')));
  } finally {
    github.readOnly = false;
  }
});

test('a 502 from the API is retried', async () => {
  github.failNext = 2;
  const { promise, logs } = upsert({ issueNumber: 14 });
  const outcome = await promise;
  assert.equal(outcome.action, 'created');
  assert.equal(logs.filter((l) => l.includes('retry')).length, 2);
});

test('a create whose answer is lost is found again by the re-list, not posted twice', async () => {
  github.loseCreateAnswers = 1; // the comment is made, then the connection drops
  const { promise, logs } = upsert({ issueNumber: 17 });
  const outcome = await promise;
  assert.equal(outcome.action, 'created');
  const onPr = github.comments.filter((c) => c.issue === 17);
  assert.equal(onPr.length, 1, onPr.map((c) => c.body).join('\n---\n'));
  assert.equal(outcome.url, `https://github.test/acme/proxy/pull/17#issuecomment-${onPr[0]!.id}`);
  const posts = github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/issues/17/comments'));
  assert.equal(posts.length, 1, 'the create is not repeated once the re-list finds it');
  assert.equal(logs.filter((l) => l.includes('retry')).length, 1);

  // When the lost create did not happen after all (nothing found), it is made again, once.
  github.failNext = 1;
  const again = await upsert({ issueNumber: 18 }).promise;
  assert.equal(again.action, 'created');
  assert.equal(github.comments.filter((c) => c.issue === 18).length, 1);
});

test('the pull request head is read for the fork-safe check', async () => {
  github.pullHeads.set(21, 'f'.repeat(40));
  const api = githubApi('ghs_test', 'acme/proxy', { GITHUB_API_URL: github.url });
  assert.equal(await api.pullRequestHeadSha(21), 'f'.repeat(40));
});

test('the event context: pull_request payload, fork detection, workflow_run, run URL', () => {
  const env = {
    GITHUB_REPOSITORY: 'acme/proxy',
    GITHUB_RUN_ID: '77',
    GITHUB_SERVER_URL: 'https://github.test',
  };
  const pr = githubContext(
    {
      eventName: 'pull_request',
      sha: 'm'.repeat(40),
      payload: {
        pull_request: {
          number: 5,
          base: { sha: 'b'.repeat(40), repo: { full_name: 'acme/proxy' } },
          head: { sha: 'h'.repeat(40), repo: { full_name: 'someone/proxy' } },
        },
      },
    } as never,
    env,
  );
  assert.deepEqual(pr.pullRequest, {
    number: 5,
    baseSha: 'b'.repeat(40),
    headSha: 'h'.repeat(40),
    baseRepo: 'acme/proxy',
    headRepo: 'someone/proxy',
  });
  assert.equal(pr.runUrl, 'https://github.test/acme/proxy/actions/runs/77');

  const run = githubContext(
    {
      eventName: 'workflow_run',
      sha: 'm'.repeat(40),
      payload: {
        workflow_run: {
          head_sha: 'e'.repeat(40),
          html_url: 'https://github.test/acme/proxy/actions/runs/76',
          pull_requests: [{ number: 5 }],
        },
      },
    } as never,
    env,
  );
  assert.equal(run.pullRequest, null);
  assert.deepEqual(run.workflowRun, {
    headSha: 'e'.repeat(40),
    pullRequestNumbers: [5],
    htmlUrl: 'https://github.test/acme/proxy/actions/runs/76',
  });

  // mode comment trusts this payload: one it cannot read is an error, not a run without checks.
  assert.throws(
    () =>
      githubContext(
        { eventName: 'workflow_run', sha: '', payload: { workflow_run: { head_sha: 'main' } } } as never,
        env,
      ),
    /workflow_run event payload .* has no valid workflow_run: head_sha: expected a 40-hex commit/,
  );

  assert.throws(
    () =>
      githubContext(
        { eventName: 'pull_request', sha: '', payload: { pull_request: { number: 'x' } } } as never,
        env,
      ),
    /pull_request event payload .* has no valid pull_request: number/,
  );
});
