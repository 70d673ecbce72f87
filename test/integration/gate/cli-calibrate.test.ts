// `athena-bench calibrate`: this repository's Athena against an identical twin, and what the A/A
// spread says the runner can detect.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli, startMysqlScratch, writePointSelectSuite, type MysqlScratch } from '../../helpers/cli.ts';

let fixture: MysqlScratch;

before(async () => {
  fixture = await startMysqlScratch('cli-calibrate-');
});
after(() => fixture?.stop());

test('calibrate prints the A/A spread and the smallest detectable regression per metric', async () => {
  const suiteFile = writePointSelectSuite(fixture.scratch, 'calibrate', 3, 1);
  const out = path.join(fixture.scratch, 'calibrate');
  const result = await runCli([
    'calibrate',
    '--mysql',
    fixture.mysqlUrl,
    '--suite',
    suiteFile,
    '--measure',
    'time',
    '--target',
    '20',
    '--out',
    out,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /\| Workload \| Metric \| A\/A Δ \| ± \(95%\) \| Samples \| Threshold \| Smallest detectable \| Samples for 20% \|/,
  );
  assert.match(
    result.stdout,
    /\| \S+ \| TPS \| [+−±]\d+\.\d+% \| \d+\.\d\d% \| \d+ \| 10% \| \d+\.\d% \| \d+ \|/,
  );
  assert.match(result.stdout, /A\/A verdict: (pass|inconclusive|improved|regressed)/);
});

test('calibrate refuses a bad flag with exit 2 naming it', async () => {
  const result = await runCli(['calibrate', '--measure', 'sometimes']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--measure: expected work, time or both/);
  const windows = await runCli(['calibrate', '--windows', '1']);
  assert.equal(windows.code, 2);
  assert.match(windows.stderr, /--windows: expected at least 2 windows/);
});
