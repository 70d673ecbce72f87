// SIGINT to `athena-bench run` mid-run (no --mysql, so a throwaway server too): the run stops,
// cleans up every process and temp dir, writes results.json with status "failed" and exits 130.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ResultsSchema } from '../src/results/schema.ts';
import { benchTempDirs, expectNoProcesses, privateTmp, startCli } from './cli-helpers.ts';

let scratch: string;
before(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cli-sigint-'));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

function suiteFile(name: string, rounds: number, timeSec: number): string {
  const file = path.join(scratch, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name,
      rounds,
      workloads: [
        {
          id: 'select',
          title: 'Select',
          driver: 'sysbench',
          threads: 4,
          options: { test: 'oltp_point_select', tables: 1, tableSize: 200, timeSec },
        },
      ],
    }),
  );
  return file;
}

function failedResults(out: string) {
  return ResultsSchema.parse(JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')));
}

test(
  'SIGINT mid-run stops everything, removes the throwaway server and exits 130',
  { skip: process.platform !== 'linux' },
  async () => {
    const out = path.join(scratch, 'sigint');
    const tmp = privateTmp(scratch);
    const cli = startCli(['run', '--suite', suiteFile('sigint', 50, 2), '--no-baseline', '--out', out], {
      TMPDIR: tmp,
    });
    await cli.waitForStderr(/round 1\/50/, 90_000);
    cli.child.kill('SIGINT');
    const result = await cli.done;
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /SIGINT: stopping and cleaning up/);
    const results = failedResults(out);
    assert.equal(results.status, 'failed');
    assert.match(results.failure!, /interrupted|SIGINT|killed/i);
    assert.deepEqual(await expectNoProcesses([tmp, out]), []);
    assert.deepEqual(benchTempDirs(tmp), []);
  },
);
