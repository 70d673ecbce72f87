// `athena-bench run --baseline FILE`: the verdict section leads the report and decides the exit
// code. One round against a one-round baseline can never be significant: the verdict is pass, or
// inconclusive where an estimate leans past its threshold, and --fail-on-inconclusive turns the
// latter into exit 1.
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
} from '../../helpers/cli.ts';

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
    const report = readFileSync(path.join(second, 'report.md'), 'utf8');
    const verdict = /## athena-bench: \S+ (pass|improved|inconclusive|regressed)/.exec(report)?.[1];
    assert.ok(verdict, `the report states a verdict:\n${report.slice(0, 400)}`);
    // With --fail-on-inconclusive only pass and improved exit 0.
    const failing = verdict === 'inconclusive' || verdict === 'regressed';
    assert.equal(judged.code, failing ? 1 : 0, `${verdict}: exit ${judged.code}\n${judged.stderr}`);
    assert.ok(
      report.indexOf(`## athena-bench:`) < report.indexOf('## Direct MySQL vs proxy'),
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
