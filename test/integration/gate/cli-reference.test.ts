// `athena-bench run` with nothing to compare with, in a git checkout: the working tree is gated
// against HEAD, built in a worktree by the engine (src/gate/reference.ts); --no-baseline measures only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  readResults,
  repoRoot,
  runCli,
  startMysqlScratch,
  writePointSelectSuite,
  type MysqlScratch,
} from '../../helpers/cli.ts';

let fixture: MysqlScratch;

before(async () => {
  fixture = await startMysqlScratch('cli-reference-');
});
after(() => fixture?.stop());

test(
  'no baseline in a git checkout: head against HEAD, built from a worktree',
  { skip: process.platform !== 'linux' },
  async () => {
    const suite = writePointSelectSuite(fixture.scratch, 'reference-head', 2, 1);
    const out = path.join(fixture.scratch, 'head');
    const result = await runCli(['run', '--mysql', fixture.mysqlUrl, '--suite', suite, '--out', out]);
    assert.ok(result.code === 0 || result.code === 1, result.stderr);
    const head = execFileSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    assert.match(result.stderr, new RegExp(`verdict: head against HEAD \\(${head.slice(0, 12)}\\)`));
    const base = readResults(out).arms.find((a) => a.role === 'base');
    assert.equal(base?.commit, head);

    const measured = path.join(fixture.scratch, 'measured');
    const only = await runCli([
      'run',
      '--mysql',
      fixture.mysqlUrl,
      '--suite',
      suite,
      '--no-baseline',
      '--out',
      measured,
    ]);
    assert.equal(only.code, 0, only.stderr);
    assert.deepEqual(
      readResults(measured).arms.map((a) => a.role),
      ['direct', 'proxy'],
    );
  },
);
