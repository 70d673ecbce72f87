// SIGINT to `athena-bench run` mid-run (no --mysql, so a throwaway server too): the run stops,
// cleans up every process and temp dir, writes results.json with status "failed" and exits 130.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  benchTempDirs,
  expectNoProcesses,
  privateTmp,
  readResults,
  startCli,
  writePointSelectSuite,
} from '../../helpers/cli.ts';

let scratch: string;
before(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cli-sigint-'));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

test(
  'SIGINT mid-run stops everything, removes the throwaway server and exits 130',
  { skip: process.platform !== 'linux' },
  async () => {
    const out = path.join(scratch, 'sigint');
    const tmp = privateTmp(scratch);
    const cli = startCli(
      ['run', '--suite', writePointSelectSuite(scratch, 'sigint', 50, 2), '--no-baseline', '--out', out],
      {
        TMPDIR: tmp,
      },
    );
    await cli.waitForStderr(/round 1\/50/, 90_000);
    cli.child.kill('SIGINT');
    const result = await cli.done;
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /SIGINT: stopping and cleaning up/);
    const results = readResults(out);
    assert.equal(results.status, 'failed');
    assert.match(results.failure!, /interrupted|SIGINT|killed/i);
    assert.deepEqual(await expectNoProcesses([tmp, out]), []);
    assert.deepEqual(benchTempDirs(tmp), []);
  },
);
