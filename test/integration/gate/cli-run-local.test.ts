// Done-when of the engine issue: `athena-bench run --suite quick --out DIR` with no MySQL given
// starts a throwaway server, builds and starts this repo's Athena, runs every quick workload through
// both arms, writes valid results.json and report.md with the performance-testing guide's table (docs/PERF.md) filled, exits 0, and
// leaves no process or temp dir behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ResultsSchema } from '../../../src/results/schema.ts';
import { BUILTIN_SUITES } from '../../../src/suite/builtins.ts';
import { benchTempDirs, expectNoProcesses, privateTmp, runCli } from '../../helpers/cli.ts';

let scratch: string;
before(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cli-run-local-'));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

test(
  'run --suite quick with a throwaway MySQL and the real Athena',
  { skip: process.platform !== 'linux' },
  async () => {
    const out = path.join(scratch, 'out');
    const tmp = privateTmp(scratch);
    const result = await runCli(
      ['run', '--suite', 'quick', '--rounds', '1', '--duration', '1', '--no-baseline', '--out', out],
      {
        TMPDIR: tmp,
      },
    );
    assert.equal(result.code, 0, result.stderr);
    const results = ResultsSchema.parse(JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')));
    assert.equal(results.status, 'complete');
    assert.deepEqual(
      results.arms.map((a) => `${a.name}:${a.role}`),
      ['direct:direct', 'proxy:proxy'],
    );
    assert.match(results.arms[1]!.command!, /node proxy\/dist\/athena\.js --config /);
    assert.ok(
      !results.arms[1]!.config!.includes(results.arms[0]!.port.toString()) ||
        /port = \d+/.test(results.arms[1]!.config!),
    );
    assert.deepEqual(
      results.workloads.map((w) => w.id),
      BUILTIN_SUITES.quick.workloads.map((w) => w.id),
    );
    for (const w of results.workloads) {
      assert.equal(w.skipped, null, `${w.id} ran`);
      assert.deepEqual(w.samples.map((s) => s.arm).sort(), ['direct', 'proxy'], w.id);
      const proxy = w.samples.find((s) => s.arm === 'proxy')!;
      assert.ok(proxy.metrics.queries > 0, `${w.id}: queries`);
      assert.equal(proxy.proxy?.trafficCheck?.ok, true, `${w.id}: traffic went through Athena`);
      assert.ok((proxy.proxy?.cpuUsPerQuery ?? 0) > 0, `${w.id}: CPU µs/query measured`);
      assert.ok((proxy.proxy?.peakRssMb ?? 0) > 10, `${w.id}: peak RSS measured`);
    }
    assert.match(results.environment.mysqlVersion, /MariaDB|^\d/);
    const report = readFileSync(path.join(out, 'report.md'), 'utf8');
    assert.match(report, /\| Workload \| Threads \| Direct MySQL \| Via Athena \| Overhead \|/);
    assert.match(report, /\| OLTP R\/W \| 16 \| \d[\d.]* TPS \| \d[\d.]* TPS \| -?\d+\.\d% \|/);
    assert.match(report, /\| Select \| 32 \| \d[\d.]* QPS \| \d[\d.]* QPS \| -?\d+\.\d% \|/);
    assert.match(report, /\| Insert \| 16 \| \d[\d.]* TPS \| \d[\d.]* TPS \| -?\d+\.\d% \|/);
    assert.match(report, /## Test Environment/);
    assert.ok(
      result.stdout.includes('| Workload | Threads | Direct MySQL | Via Athena | Overhead |'),
      'the report is printed',
    );
    assert.ok(readdirSync(out).includes('report.html'));
    // Nothing left: no process that used this run's paths, nothing in its TMPDIR.
    assert.deepEqual(await expectNoProcesses([tmp, out]), []);
    assert.deepEqual(benchTempDirs(tmp), []);
  },
);
