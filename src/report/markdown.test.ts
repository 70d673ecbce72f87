import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResultsSchema, type Results, type RoundSample } from '../results/schema.ts';
import { SuiteSchema } from '../suite/schema.ts';
import { REPORT_MAX_CHARS, renderMeasurementReport } from './markdown.ts';
import { medianOrNull } from '../model/stats.ts';
import { spreadPct, throughputUnit } from './summary.ts';

function sample(
  arm: string,
  round: number,
  tps: number,
  qps: number,
  p95: number,
  cpu: number | null = null,
): RoundSample {
  return {
    arm,
    round,
    position: 0,
    startedAt: '2026-01-01T00:00:00Z',
    metrics: {
      durationSec: 10,
      transactions: tps * 10,
      tps,
      queries: qps * 10,
      qps,
      queriesRead: null,
      queriesWrite: null,
      queriesOther: null,
      latencyMs: { min: 1, avg: 2, max: 9, p95, p99: p95 * 2 },
      errors: 0,
      reconnects: 0,
      intervals: [],
    },
    proxy: cpu === null ? null : { cpuSeconds: 1, cpuUsPerQuery: cpu, peakRssMb: 80 },
    loadGeneratorCpuUsPerQuery: null,
    harnessCpuShare: 0.01,
  };
}

function results(rounds: number): Results {
  const suite = SuiteSchema.parse({
    name: 'default',
    rounds,
    workloads: [
      {
        id: 'rw',
        title: 'OLTP R/W',
        driver: 'sysbench',
        threads: 16,
        options: { test: 'oltp_read_write', timeSec: 10 },
      },
      {
        id: 'select',
        title: 'Select',
        driver: 'sysbench',
        threads: 32,
        options: { test: 'oltp_point_select', timeSec: 10 },
      },
      { id: 'slap', title: 'mysqlslap', driver: 'mysqlslap', threads: 50, options: { query: 'SELECT 1' } },
    ],
  });
  const samples = (tpsDirect: number, qpsPer: number) =>
    Array.from({ length: rounds }, (_, r) => [
      sample('direct', r, tpsDirect + r, (tpsDirect + r) * qpsPer, 5),
      sample('proxy', r, (tpsDirect + r) * 0.9, (tpsDirect + r) * 0.9 * qpsPer, 6, 50 + r),
      sample('haproxy', r, (tpsDirect + r) * 0.95, (tpsDirect + r) * 0.95 * qpsPer, 5.5, 30),
    ]).flat();
  return ResultsSchema.parse({
    schemaVersion: 1,
    tool: { name: 'athena-bench', version: '0.1.0' },
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '2026-01-01T00:05:00Z',
    status: 'complete',
    suite,
    arms: [
      { name: 'direct', role: 'direct', host: '127.0.0.1', port: 3306 },
      {
        name: 'proxy',
        role: 'proxy',
        host: '127.0.0.1',
        port: 3307,
        command: 'node proxy/dist/athena.js --config x',
        config: '[server]\nlisten_port = 3307',
      },
      { name: 'haproxy', role: 'reference', host: '127.0.0.1', port: 3308, command: 'haproxy -db -f cfg' },
    ],
    workloads: [
      { id: 'rw', title: 'OLTP R/W', driver: 'sysbench', threads: 16, samples: samples(100, 20) },
      { id: 'select', title: 'Select', driver: 'sysbench', threads: 32, samples: samples(1000, 1) },
      {
        id: 'slap',
        title: 'mysqlslap',
        driver: 'mysqlslap',
        threads: 50,
        skipped: 'mysqlslap is not installed. Install: apt-get install -y mariadb-client',
        samples: [],
      },
    ],
    environment: {
      cpuModel: 'Test CPU',
      cores: 2,
      memoryBytes: 8 * 1024 ** 3,
      kernel: 'Linux 6.1',
      os: 'Debian GNU/Linux 12',
      node: 'v20',
      mysqlVersion: '10.11.19-MariaDB',
      sysbenchVersion: '1.0.20',
      ulimitNofile: 1024,
      somaxconn: 4096,
    },
    warnings: ['Low open-file limit: ulimit -n is 1024'],
  });
}

test("the performance-testing guide's table with a column pair per extra arm, QPS for point selects, skipped rows", () => {
  const md = renderMeasurementReport(results(3));
  assert.match(
    md,
    /\| Workload \| Threads \| Direct MySQL \| Via Athena \| Overhead \| Via haproxy \| Overhead \(haproxy\) \|/,
  );
  assert.match(
    md,
    /\| OLTP R\/W \| 16 \| 101 TPS ±1\.0% \| 90\.9 TPS ±1\.0% \| 10\.0% \(10\.0…10\.0\) \| 95\.9 TPS ±1\.0% \| 5\.0% /,
  );
  assert.match(md, /\| Select \| 32 \| 1001 QPS ±0\.1% \| 901 QPS ±0\.1% \| 10\.0% /);
  assert.match(md, /\| mysqlslap \| 50 \| skipped \|/);
  assert.match(md, /\| OLTP R\/W \| proxy \| 6\.00 \| 12\.0 \| \+1\.00 \| \+2\.00 \|/);
  assert.match(md, /\| OLTP R\/W \| proxy \| 51\.0 ±2\.0% \| 1\.00 \| 80\.0 \| not checked \|/);
  assert.ok(md.indexOf('## Warnings') < md.indexOf('## Direct MySQL vs proxy'));
  assert.match(md, /## Test Environment\n\n- \*\*Hardware\*\*: 2 cores \(Test CPU\), 8\.0 GiB RAM/);
  assert.match(md, /- \*\*MySQL Version\*\*: 10\.11\.19-MariaDB/);
  assert.match(md, /- \*\*Network\*\*: local loopback/);
  assert.match(md, /- \*\*Configuration\*\*: sysbench 1\.0\.20/);
});

test('the verdict comes first; a failed run says so; the report stays under 60,000 characters', () => {
  const withVerdict = renderMeasurementReport(results(2), '## Verdict: pass\n');
  assert.ok(withVerdict.indexOf('## Verdict: pass') < withVerdict.indexOf('## Warnings'));
  const failed = renderMeasurementReport({
    ...results(1),
    status: 'failed',
    failure: 'traffic check failed: …',
  });
  assert.match(failed, /\*\*The run FAILED\*\*.*traffic check failed/);
  const huge = renderMeasurementReport(results(200));
  assert.ok(huge.length <= REPORT_MAX_CHARS, `${huge.length} chars`);
  assert.match(huge, /## Test Environment/);
});

test('median, spread and the throughput unit', () => {
  assert.equal(medianOrNull([3, 1, 2]), 2);
  assert.equal(medianOrNull([4, 1, 2, 3]), 2.5);
  assert.equal(medianOrNull([]), null);
  assert.equal(spreadPct([90, 100, 110]), 10);
  assert.equal(spreadPct([5]), null);
  assert.equal(throughputUnit(undefined, 'mysqlslap'), 'qps');
});

test('the phases of a run are summed by name in a "Where the time went" table; results without phases have none', () => {
  const withPhases = ResultsSchema.parse({
    ...results(1),
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:40.000Z',
    phases: [
      { name: 'proxy build', startedAt: '2026-01-01T00:00:00.000Z', seconds: 2.34 },
      {
        name: 'time: warm-up',
        workload: 'oltp_read_only',
        startedAt: '2026-01-01T00:00:02.340Z',
        seconds: 10,
      },
      { name: 'time: warm-up', workload: 'oltp_insert', startedAt: '2026-01-01T00:00:12.340Z', seconds: 10 },
    ],
  });
  const report = renderMeasurementReport(withPhases);
  assert.match(report, /## Where the time went/);
  assert.match(report, /\| proxy build \| – \| 2\.3 \| 6% \|/);
  assert.match(report, /\| time: warm-up \| 2 \| 20\.0 \| 50% \|/);
  assert.match(report, /\| \*\*the whole run\*\* \| \| \*\*40\.0\*\* \| \|/);
  assert.doesNotMatch(renderMeasurementReport(results(1)), /Where the time went/);
});
