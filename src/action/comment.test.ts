import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACTIONS_BOT,
  commentMarker,
  upsertStickyComment,
  withMarker,
  MAX_COMMENT_CHARS,
  type IssueComment,
  type IssueCommentsApi,
  type UpsertOptions,
} from './comment.ts';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** An in-memory issue-comments API that pages like GitHub's and can fail on demand. */
class FakeComments implements IssueCommentsApi {
  comments: IssueComment[] = [];
  calls: string[] = [];
  /** Errors thrown by the next calls, in order (undefined entries: succeed). */
  failures: Array<Error | undefined> = [];
  /** The token's user; null: an installation token, whose comments are github-actions[bot]'s. */
  login: string | null = null;
  private nextId = 1000;

  seed(count: number, bodies: Record<number, string> = {}, author = 'someone'): void {
    for (let i = 0; i < count; i += 1) this.add(bodies[i] ?? `human comment ${i}`, author);
  }
  private add(body: string, author = this.login ?? ACTIONS_BOT): IssueComment {
    const id = (this.nextId += 1);
    const comment = { id, body, htmlUrl: `https://github.test/o/r/pull/7#issuecomment-${id}`, author };
    this.comments.push(comment);
    return comment;
  }
  private maybeFail(): void {
    const failure = this.failures.shift();
    if (failure) throw failure;
  }
  async listPage(issueNumber: number, page: number, perPage: number) {
    this.calls.push(`list:${issueNumber}:${page}`);
    this.maybeFail();
    const start = (page - 1) * perPage;
    return {
      comments: this.comments.slice(start, start + perPage),
      hasNextPage: start + perPage < this.comments.length,
    };
  }
  async authenticatedLogin() {
    return this.login;
  }
  async create(issueNumber: number, body: string) {
    this.calls.push(`create:${issueNumber}`);
    this.maybeFail();
    return this.add(body);
  }
  async update(id: number, body: string) {
    this.calls.push(`update:${id}`);
    this.maybeFail();
    const comment = this.comments.find((c) => c.id === id);
    if (!comment) throw new HttpError(404, 'Not Found');
    comment.body = body;
    return comment;
  }
}

function options(api: FakeComments, overrides: Partial<UpsertOptions> = {}) {
  const logs: string[] = [];
  const sleeps: number[] = [];
  const opts: UpsertOptions = {
    api,
    issueNumber: 7,
    suite: 'quick',
    body: 'verdict: regressed',
    policy: 'always',
    changed: true,
    log: { info: (m) => logs.push(`info:${m}`), warning: (m) => logs.push(`warning:${m}`) },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    perPage: 3,
    ...overrides,
  };
  return { opts, logs, sleeps };
}

test('creates the comment when absent, then updates the same one (found across pages)', async () => {
  const api = new FakeComments();
  api.seed(7);
  const first = await upsertStickyComment(options(api).opts);
  assert.equal(first.action, 'created');
  assert.deepEqual(api.calls, ['list:7:1', 'list:7:2', 'list:7:3', 'create:7']);
  const created = api.comments.at(-1)!;
  assert.ok(created.body.startsWith(`${commentMarker('quick')}\n`));
  api.seed(5); // more discussion after it: the marker comment is now on page 3 of 5
  api.calls = [];
  const second = await upsertStickyComment(options(api, { body: 'verdict: pass', changed: false }).opts);
  assert.equal(second.action, 'updated');
  assert.equal(second.url, created.htmlUrl);
  assert.deepEqual(api.calls, ['list:7:1', 'list:7:2', 'list:7:3', `update:${created.id}`]);
  assert.equal(api.comments.filter((c) => c.body.includes(commentMarker('quick'))).length, 1);
  assert.match(created.body, /verdict: pass/);
});

test("a marker in someone else's comment is not the sticky comment: it is never edited", async () => {
  const api = new FakeComments();
  api.seed(1, { 0: `${commentMarker('quick')}\n## athena-bench: ✅ pass (pasted by a stranger)` }, 'mallory');
  const outcome = await upsertStickyComment(options(api, { body: 'verdict: regressed' }).opts);
  assert.equal(outcome.action, 'created');
  assert.equal(api.comments.length, 2);
  assert.match(api.comments[0]!.body, /pasted by a stranger/);
  assert.equal(api.comments[1]!.author, ACTIONS_BOT);
  assert.ok(!api.calls.some((c) => c.startsWith('update')));
});

test("with a personal token, the token's user's comment and the Actions bot's are both ours", async () => {
  const api = new FakeComments();
  api.login = 'perf-bot';
  const mine = await upsertStickyComment(options(api).opts);
  assert.equal(mine.action, 'created');
  assert.equal(api.comments[0]!.author, 'perf-bot');
  const again = await upsertStickyComment(options(api, { body: 'second' }).opts);
  assert.equal(again.action, 'updated');

  const earlier = new FakeComments();
  earlier.seed(1, { 0: `${commentMarker('quick')}\nposted with GITHUB_TOKEN` }, ACTIONS_BOT);
  earlier.login = 'perf-bot';
  assert.equal((await upsertStickyComment(options(earlier).opts)).action, 'updated');
});

test('each suite has its own sticky comment', async () => {
  const api = new FakeComments();
  await upsertStickyComment(options(api, { suite: 'quick' }).opts);
  await upsertStickyComment(options(api, { suite: 'default' }).opts);
  await upsertStickyComment(options(api, { suite: 'quick' }).opts);
  assert.equal(api.comments.length, 2);
  assert.equal(api.calls.filter((c) => c.startsWith('create')).length, 2);
});

test('on-change: a pass creates nothing, but updates an earlier comment', async () => {
  const api = new FakeComments();
  api.seed(2);
  const skipped = await upsertStickyComment(options(api, { policy: 'on-change', changed: false }).opts);
  assert.equal(skipped.action, 'skipped');
  assert.equal(api.calls.filter((c) => !c.startsWith('list')).length, 0);

  const regressed = await upsertStickyComment(options(api, { policy: 'on-change', changed: true }).opts);
  assert.equal(regressed.action, 'created');
  const passAgain = await upsertStickyComment(
    options(api, { policy: 'on-change', changed: false, body: 'fixed' }).opts,
  );
  assert.equal(passAgain.action, 'updated');
  assert.match(api.comments.at(-1)!.body, /fixed/);
});

test('never: no API call at all', async () => {
  const api = new FakeComments();
  const outcome = await upsertStickyComment(options(api, { policy: 'never' }).opts);
  assert.equal(outcome.action, 'skipped');
  assert.deepEqual(api.calls, []);
});

test('a 403 (fork pull request) warns with the fork-safe recipe and does not throw', async () => {
  const api = new FakeComments();
  api.failures = [undefined, new HttpError(403, 'Resource not accessible by integration')];
  const { opts, logs, sleeps } = options(api);
  const outcome = await upsertStickyComment(opts);
  assert.equal(outcome.action, 'forbidden');
  assert.deepEqual(sleeps, [], 'a permission error is not retried');
  const warning = logs.find((l) => l.startsWith('warning:')) ?? '';
  assert.match(warning, /HTTP 403/);
  assert.match(warning, /fork/);
  assert.match(warning, /workflow_run/);
});

test('transient errors (5xx, 429, network, secondary rate limit) are retried with backoff', async () => {
  const api = new FakeComments();
  api.failures = [
    new HttpError(502, 'Bad Gateway'),
    new HttpError(429, 'Too Many Requests'),
    Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    undefined, // the list succeeds on the 4th attempt
    new HttpError(403, 'You have exceeded a secondary rate limit'),
  ];
  const { opts, sleeps, logs } = options(api);
  const outcome = await upsertStickyComment(opts);
  assert.equal(outcome.action, 'created');
  assert.deepEqual(sleeps, [1000, 2000, 4000, 1000]);
  assert.equal(logs.filter((l) => l.includes('retry')).length, 4);
});

test('persistent server errors give up after the attempts and report a failure', async () => {
  const api = new FakeComments();
  api.failures = Array.from({ length: 10 }, () => new HttpError(500, 'Internal Server Error'));
  const { opts, logs } = options(api, { attempts: 3 });
  const outcome = await upsertStickyComment(opts);
  assert.equal(outcome.action, 'failed');
  assert.equal(api.calls.length, 3);
  assert.ok(logs.some((l) => l.startsWith('warning:') && /HTTP 500/.test(l) && /job summary/.test(l)));
});

test('bodies are capped below GitHub limit and the marker survives', () => {
  const body = withMarker('quick', 'x'.repeat(100_000));
  assert.ok(body.length <= MAX_COMMENT_CHARS);
  assert.ok(body.startsWith(commentMarker('quick')));
  assert.match(body, /truncated/);
  assert.equal(commentMarker('a--b>c'), '<!-- athena-bench:a-bc -->');
});
