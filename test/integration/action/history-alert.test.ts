// The history alert: one issue per suite, opened on a new change point that is not an improvement,
// updated while open, through the real Octokit adapter against the loopback GitHub API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { githubIssues } from '../../../src/action/github-adapter.ts';
import { alertMarker, upsertAlert } from '../../../src/action/history-alert.ts';
import type { ChangePoint } from '../../../src/history/detect.ts';
import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.ts';
import { syntheticSha } from '../../helpers/series.ts';

let github: FakeGitHub;
before(async () => {
  github = await startFakeGitHub('acme', 'proxy');
});
after(async () => {
  await github?.close();
});

function change(i: number, metric: string, shift: number, direction: ChangePoint['direction']): ChangePoint {
  return {
    suite: 'default',
    workload: 'select',
    arm: 'proxy',
    metric,
    commit: syntheticSha(i),
    previousCommit: syntheticSha(i - 1),
    time: new Date(Date.parse('2026-11-01T00:00:00Z') + i * 3600_000).toISOString(),
    runUrl: `https://github.test/acme/proxy/actions/runs/${i}`,
    before: { median: 100, points: 20 },
    after: { median: 100 + shift, points: 3 },
    shift,
    unit: '%',
    direction,
    pValue: 0.001,
    environmentChanged: false,
  };
}

test('opened on a new worse change point, updated while open, a new one after it is closed', async () => {
  const api = githubIssues('ghs_test', 'acme/proxy', { GITHUB_API_URL: github.url });
  const alert = (before: ChangePoint[], after: ChangePoint[], checked = 30) =>
    upsertAlert({
      api,
      suite: 'default',
      before,
      after,
      checked: { commit: syntheticSha(checked), runUrl: null },
      sleep: () => Promise.resolve(),
    });
  const faster = change(10, 'tps', 12, 'better');
  const slower = change(20, 'cpu_us_per_query', 6, 'worse');

  assert.deepEqual(await alert([], []), { action: 'none', reason: 'no change point' });
  // An improvement alone is no alarm.
  assert.equal((await alert([], [faster])).action, 'none');
  assert.equal(github.issues.length, 0);

  github.failNext = 1; // a transient 502 on the first call is retried
  const opened = await alert([faster], [faster, slower]);
  assert.equal(opened.action, 'opened');
  assert.equal(github.issues.length, 1);
  const issue = github.issues[0]!;
  assert.ok(issue.body.startsWith(alertMarker('default')));
  assert.match(
    issue.title,
    new RegExp(`cpu_us_per_query \\+6\\.00% at ${syntheticSha(20).slice(0, 7)} and 1 more`),
  );
  // Newest first; improvements listed too.
  assert.ok(issue.body.indexOf('cpu_us_per_query') < issue.body.indexOf('| tps |'));

  const updated = await alert([faster, slower], [faster, slower], 31);
  assert.equal(updated.action, 'updated');
  assert.equal(github.issues.length, 1);
  assert.match(issue.body, new RegExp(`Last checked at ${syntheticSha(31).slice(0, 7)}\\.`));

  // Closed by a maintainer: the known change points do not reopen it, a new one opens another.
  issue.state = 'closed';
  assert.equal((await alert([faster, slower], [faster, slower])).action, 'none');
  const again = await alert([faster, slower], [faster, slower, change(25, 'latency_p95_ms', 9, 'worse')]);
  assert.equal(again.action, 'opened');
  assert.equal(github.issues.filter((i) => i.state === 'open').length, 1);
  assert.equal(github.issues.length, 2);
});

function alertWith(checked: number, before: ChangePoint[], after: ChangePoint[]) {
  return upsertAlert({
    api: githubIssues('ghs_test', 'acme/proxy', { GITHUB_API_URL: github.url }),
    suite: 'quick',
    before,
    after,
    checked: { commit: syntheticSha(checked), runUrl: null },
    sleep: () => Promise.resolve(),
  });
}

test('an issue by someone else carrying the marker is never taken for the alert', async () => {
  const planted = {
    number: 77,
    title: 'athena-bench: all fine',
    body: `${alertMarker('quick')}\nnothing to see`,
    state: 'open' as const,
    author: 'mallory',
  };
  github.issues.push(planted);
  const slower = change(40, 'tps', -8, 'worse');
  const opened = await alertWith(41, [], [slower]);
  assert.equal(opened.action, 'opened');
  assert.notEqual(opened.action === 'opened' && opened.number, 77);
  assert.equal(planted.body, `${alertMarker('quick')}\nnothing to see`, "mallory's issue is untouched");
  const mine = github.issues.filter((i) => i.body.includes(alertMarker('quick')) && i.author !== 'mallory');
  assert.deepEqual(
    mine.map((i) => i.author),
    ['github-actions[bot]'],
  );
  // The next run updates the bot's issue, still not mallory's.
  const updated = await alertWith(42, [slower], [slower]);
  assert.equal(updated.action, 'updated');
  assert.equal(updated.action === 'updated' && updated.number, mine[0]!.number);
  assert.equal(planted.body, `${alertMarker('quick')}\nnothing to see`);
  for (const i of github.issues) i.state = 'closed';
});

test('an issue create whose answer is lost is found again, not opened twice', async () => {
  github.loseCreateAnswers = 1;
  const before = github.requests.length;
  const opened = await alertWith(51, [], [change(50, 'latency_p95_ms', 12, 'worse')]);
  assert.equal(opened.action, 'opened');
  const open = github.issues.filter((i) => i.state === 'open');
  assert.equal(open.length, 1);
  assert.equal(opened.action === 'opened' && opened.number, open[0]!.number);
  const creates = github.requests.slice(before).filter((r) => r.method === 'POST');
  assert.equal(creates.length, 1, 'the create is not repeated once the re-list finds it');
  for (const i of github.issues) i.state = 'closed';
});
