// `athena-bench run --threshold/--rounds/--duration`: the overrides reach the suite as run
// (results.json) and the verdict's thresholds (report.md), through the real CLI and a real server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  measureBaseline,
  readResults,
  runSuite,
  startMysqlScratch,
  writePointSelectSuite,
  type MysqlScratch,
} from '../../cli-helpers.ts';

let fixture: MysqlScratch;

before(async () => {
  fixture = await startMysqlScratch('cli-overrides-');
});

after(() => fixture?.stop());

test(
  'run --threshold changes the thresholds the verdict uses and the report shows; --rounds and --duration the suite as run',
  { skip: process.platform !== 'linux' },
  async () => {
    const { scratch } = fixture;
    // Planned long on purpose: the flags cut it to one 1-second round.
    const suiteFile = writePointSelectSuite(scratch, 'overrides', 3, 30, 2);
    const shortRun = ['--rounds', '1', '--duration', '1'];
    const { runDir: first, baselineFile } = await measureBaseline(fixture, suiteFile, shortRun);
    const asRun = readResults(first).suite;
    assert.equal(asRun.rounds, 1);
    const workload = asRun.workloads[0]!;
    assert.equal(workload.driver === 'sysbench' && workload.options.timeSec, 1);
    assert.deepEqual(workload.metrics, {});

    const second = path.join(scratch, 'second');
    const judged = await runSuite(fixture, suiteFile, second, [
      '--baseline',
      baselineFile,
      '--threshold',
      'tps=7%,p95=30%',
      ...shortRun,
    ]);
    assert.equal(judged.code, 0, judged.stderr);
    assert.deepEqual(readResults(second).suite.workloads[0]!.metrics, {
      tps: { thresholdPct: 7 },
      latency_p95_ms: { thresholdPct: 30 },
    });
    const report = readFileSync(path.join(second, 'report.md'), 'utf8');
    assert.match(report, /^- select: tps 7% gate, latency_p95_ms 30% gate$/m);
    assert.doesNotMatch(readFileSync(path.join(first, 'report.md'), 'utf8'), /tps 7%/);
  },
);
