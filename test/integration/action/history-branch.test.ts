// The data branch: appends as commits pushed to a real (local, bare) remote, retried on conflict.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { appendToDataBranch, type DataBranchOptions } from '../../../src/action/history-branch.ts';
import { parseHistory } from '../../../src/history/store.ts';
import { realExec } from '../../../src/util/exec.ts';
import { syntheticHistory } from '../../helpers/series.ts';

let dir: string;
let remote: string;
const clones: string[] = [];
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8' }).trim();

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'history-branch-'));
  remote = path.join(dir, 'remote.git');
  execFileSync('git', ['init', '-q', '--bare', remote]);
  for (const name of ['a', 'b']) {
    const clone = path.join(dir, name);
    execFileSync('git', ['clone', '-q', remote, clone], { stdio: 'ignore' });
    clones.push(clone);
  }
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const points = syntheticHistory('default', { tps: [100, 101, 102, 103] }).points;

function options(
  clone: string,
  pointIndexes: number[],
  extra: Partial<DataBranchOptions> = {},
): DataBranchOptions {
  return {
    exec: realExec,
    repoRoot: clone,
    remote: 'origin',
    branch: 'athena-bench-data',
    suite: 'default',
    points: pointIndexes.map((i) => points[i]!),
    retention: 1000,
    message: 'athena-bench: history',
    attempts: 4,
    sleep: () => Promise.resolve(),
    log: () => undefined,
    ...extra,
  };
}

function branchHistory() {
  return parseHistory(git(remote, 'show', 'athena-bench-data:default.json'), 'default.json');
}

test('the first append creates the branch; the same point again pushes nothing', async () => {
  const first = await appendToDataBranch(options(clones[0]!, [0]));
  assert.equal(first.added, true);
  assert.equal(first.before.points.length, 0);
  assert.deepEqual(
    branchHistory().points.map((p) => p.commit),
    [points[0]!.commit],
  );
  const again = await appendToDataBranch(options(clones[1]!, [0]));
  assert.equal(again.added, false);
  assert.equal(git(remote, 'rev-list', '--count', 'athena-bench-data'), '1');
});

test('a push that loses the race is retried on top of the winner: no point lost, none doubled', async () => {
  const logged: string[] = [];
  const outcome = await appendToDataBranch(
    options(clones[0]!, [2], {
      log: (line) => void logged.push(line),
      // Another run pushes its point between this run's fetch and its push.
      beforePush: async () => {
        if (logged.length === 0) await appendToDataBranch(options(clones[1]!, [1]));
      },
    }),
  );
  assert.equal(outcome.attempts, 2);
  assert.match(logged.join('\n'), /moved meanwhile \(push rejected\); retrying/);
  assert.deepEqual(
    outcome.before.points.map((p) => p.commit),
    [points[0]!.commit, points[1]!.commit],
  );
  assert.deepEqual(
    branchHistory().points.map((p) => p.commit),
    [0, 1, 2].map((i) => points[i]!.commit),
  );
  // Three appends, three commits, each on top of the last (nothing forced).
  assert.equal(git(remote, 'rev-list', '--count', 'athena-bench-data'), '3');
});

test('a push rejected every time fails after the given attempts, naming the cause', async () => {
  let competitor = 3;
  await assert.rejects(
    appendToDataBranch(
      options(clones[0]!, [3], {
        attempts: 2,
        beforePush: async () => {
          // A fresh point each time, so the competitor really pushes.
          const p = {
            ...points[3]!,
            time: new Date(Date.parse(points[3]!.time) + competitor++ * 1000).toISOString(),
          };
          await appendToDataBranch({ ...options(clones[1]!, []), points: [p] });
        },
      }),
    ),
    /git push to athena-bench-data failed 2 times \(other runs kept pushing first\)/,
  );
});

test('a history file larger than exec keeps by default (8 MiB) is read whole and appended to', async () => {
  const metrics = Object.fromEntries(
    Array.from({ length: 100 }, (_, m) => [`m${m}`, Array.from({ length: 1000 }, (_, j) => 100 + (j % 7))]),
  );
  const big = syntheticHistory('big', metrics).points;
  const bigOptions = (pointsToAdd: typeof big) => ({
    ...options(clones[0]!, []),
    branch: 'big-data',
    suite: 'big',
    points: pointsToAdd,
  });
  await appendToDataBranch(bigOptions(big.slice(0, 999)));
  assert.ok(Number(git(remote, 'cat-file', '-s', 'big-data:big.json')) > 8 * 1024 * 1024);
  const last = await appendToDataBranch(bigOptions(big.slice(999)));
  assert.equal(last.before.points.length, 999);
  assert.equal(last.after.points.length, 1000);
});
