// `athena-bench run --baseline FILE`: the verdict section leads the report and decides the exit
// code. One round against a one-round baseline can never be significant, so the verdict is
// inconclusive: exit 0, and exit 1 with --fail-on-inconclusive.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  measureBaseline,
  runCli,
  runSuite,
  startMysqlScratch,
  writePointSelectSuite,
  type MysqlScratch,
} from './cli-helpers.ts';

let fixture: MysqlScratch;
let scratch: string;
let suiteFile: string;
let mysqlUrl: string;

before(async () => {
  fixture = await startMysqlScratch('cli-verdict-');
  ({ scratch, mysqlUrl } = fixture);
  suiteFile = writePointSelectSuite(scratch, 'verdict', 1, 1);
});

after(() => fixture?.stop());

test(
  'run --baseline: verdict first in the report, exit code from the verdict',
  { skip: process.platform !== 'linux' },
  async () => {
    const { baselineFile } = await measureBaseline(fixture, suiteFile);

    const second = path.join(scratch, 'second');
    const judged = await runSuite(fixture, suiteFile, second, [
      '--baseline',
      baselineFile,
      '--fail-on-inconclusive',
    ]);
    assert.equal(judged.code, 1, `inconclusive fails with --fail-on-inconclusive\n${judged.stderr}`);
    const report = readFileSync(path.join(second, 'report.md'), 'utf8');
    assert.match(report, /inconclusive/i);
    assert.ok(
      report.search(/inconclusive/i) < report.indexOf('## Direct MySQL vs proxy'),
      'the verdict comes before the measurements',
    );
    assert.match(report, /\| Workload \| Threads \| Direct MySQL \| Via Athena \| Overhead \|/);
    assert.match(readFileSync(path.join(second, 'report.html'), 'utf8'), /<html/i);

    const bad = await runCli([
      'run',
      '--mysql',
      mysqlUrl,
      '--suite',
      suiteFile,
      '--baseline',
      path.join(scratch, 'missing.json'),
    ]);
    assert.equal(bad.code, 2, 'a missing baseline is a usage error, found before measuring');
  },
);
