import { BUILTIN_SUITES } from '../suite/builtins.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { realBenchmarker } from './engine-adapter.ts';
import { readActionConfig } from './inputs.ts';
import { realExec } from '../util/exec.ts';
import { silentProgress } from '../harness/progress.ts';

const benchmarker = realBenchmarker({
  exec: realExec,
  log: () => undefined,
  progress: silentProgress,
  env: {},
});

function configOf(inputs: Record<string, string>) {
  return readActionConfig({ getInput: (name) => inputs[name] ?? '', setSecret: () => undefined });
}

test('the Action loads suite-file from working-directory with threshold, rounds and duration applied', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'athena-bench-adapter-'));
  try {
    await writeFile(
      path.join(dir, 'suite.json'),
      JSON.stringify({
        $schema: './suite.schema.json',
        name: 'mine',
        workloads: [
          {
            id: 'sel',
            title: 'Select',
            driver: 'sysbench',
            threads: 2,
            options: { test: 'oltp_point_select', timeSec: 30 },
          },
        ],
      }),
    );
    const config = configOf({
      'suite-file': 'suite.json',
      threshold: 'cpu=1.5%',
      rounds: '5',
      duration: '2',
    });
    const suite = await benchmarker.loadSuite(config.suite, dir);
    assert.equal(suite.name, 'mine');
    assert.equal(suite.rounds, 5);
    const workload = suite.workloads[0]!;
    assert.equal(workload.driver === 'sysbench' && workload.options.timeSec, 2);
    assert.deepEqual(workload.metrics, { cpu_us_per_query: { thresholdPct: 1.5 } });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a built-in suite without overrides loads as it ships', async () => {
  const suite = await benchmarker.loadSuite(configOf({ suite: 'quick' }).suite, os.tmpdir());
  assert.deepEqual(suite, BUILTIN_SUITES.quick);
});
