import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { realExec } from '../util/exec.ts';
import { gitOps } from './git.ts';

let repo: string;
let first: string;
let second: string;
const git = (...args: string[]) =>
  execFileSync('git', ['-C', repo, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
    },
  }).trim();

before(async () => {
  repo = realpathSync(await mkdtemp(path.join(os.tmpdir(), 'gate-git-test-')));
  git('init', '-q', '-b', 'main');
  await writeFile(path.join(repo, 'proxy.txt'), 'v1');
  git('add', 'proxy.txt');
  git('commit', '-q', '-m', 'one');
  first = git('rev-parse', 'HEAD');
  git('checkout', '-q', '-b', 'feature');
  await writeFile(path.join(repo, 'proxy.txt'), 'v2');
  git('commit', '-q', '-am', 'two');
  second = git('rev-parse', 'HEAD');
});
after(async () => {
  await rm(repo, { recursive: true, force: true });
});

test('resolves refs, finds the top level and the merge-base; null outside a checkout', async () => {
  const ops = gitOps(realExec);
  assert.equal(await ops.repoRoot(repo), repo);
  assert.equal(await ops.toplevel(repo), repo);
  assert.equal(await ops.toplevel(os.tmpdir()), null);
  assert.equal(await ops.resolveCommit(repo, 'main'), first);
  assert.equal(await ops.resolveCommit(repo, 'HEAD'), second);
  assert.equal(await ops.mergeBase(repo, 'main', 'HEAD'), first);
});

test('an unknown ref fails with the git command and its message', async () => {
  const ops = gitOps(realExec);
  await assert.rejects(
    ops.resolveCommit(repo, 'origin/nope'),
    /git rev-parse --verify .*origin\/nope.*exited with 128/,
  );
});

test('reads a file at a ref without touching the work tree; null for a missing ref or file', async () => {
  const ops = gitOps(realExec);
  const readFileAtRef = ops.readFileAtRef!;
  assert.equal(await readFileAtRef(repo, 'main', 'proxy.txt'), 'v1');
  assert.equal(await readFileAtRef(repo, 'refs/heads/feature', 'proxy.txt'), 'v2');
  assert.equal(await readFileAtRef(repo, 'main', 'absent.json'), null);
  assert.equal(await readFileAtRef(repo, 'refs/remotes/origin/athena-bench-data', 'proxy.txt'), null);
  assert.equal(git('status', '--porcelain'), '');
  assert.equal(git('rev-parse', '--abbrev-ref', 'HEAD'), 'feature');
});

test('reads a file over 8 MiB whole', async () => {
  const big = `${'0123456789abcdef'.repeat(600_000)}\n`;
  const blob = execFileSync('git', ['-C', repo, 'hash-object', '-w', '--stdin'], {
    input: big,
    encoding: 'utf8',
  }).trim();
  const tree = execFileSync('git', ['-C', repo, 'mktree'], {
    input: `100644 blob ${blob}\tbig.json\n`,
    encoding: 'utf8',
  }).trim();
  git('update-ref', 'refs/remotes/origin/big', git('commit-tree', tree, '-m', 'big'));
  const text = await gitOps(realExec).readFileAtRef!(repo, 'refs/remotes/origin/big', 'big.json');
  assert.equal(text?.length, big.length);
});
