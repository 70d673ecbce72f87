import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_SUITES } from './builtins.ts';
import { METRIC_ALIASES, NO_OVERRIDES, ThresholdListSchema, applySuiteOverrides } from './overrides.ts';
import { MetricNameSchema } from '../model/metrics.ts';
import { SuiteSchema, type Suite } from './schema.ts';

function thresholds(text: string) {
  return ThresholdListSchema.parse(text);
}

function issues(text: string): string[] {
  const parsed = ThresholdListSchema.safeParse(text);
  assert.ok(!parsed.success, `${text} should not parse`);
  return parsed.error.issues.map((i) => i.message);
}

test('threshold lists: metric names and aliases, each in its own unit', () => {
  assert.deepEqual(thresholds(''), {});
  assert.deepEqual(thresholds('tps=5%,p95=10%'), { tps: 5, latency_p95_ms: 10 });
  assert.deepEqual(thresholds(' latency_p99_ms=25% , instructions=0.5% '), {
    latency_p99_ms: 25,
    instructions_per_query: 0.5,
  });
  assert.deepEqual(thresholds('overhead=3pts,errors=2'), { overhead_pct: 3, errors: 2 });
  assert.deepEqual(thresholds('tps=0%'), { tps: 0 });
  for (const metric of Object.values(METRIC_ALIASES)) assert.ok(MetricNameSchema.safeParse(metric).success);
});

test('threshold lists: each bad item is quoted with what was expected', () => {
  assert.deepEqual(issues('tps=5'), ['"tps=5" — expected tps=N% such as tps=5%']);
  assert.deepEqual(issues('tps:5%'), ['"tps:5%" — expected METRIC=N% such as tps=5%']);
  assert.deepEqual(issues('overhead=3%'), [
    '"overhead=3%" — expected overhead=Npts (percentage points) such as overhead=3pts',
  ]);
  assert.deepEqual(issues('errors=1%'), [
    '"errors=1%" — expected errors=N (a whole number of errors) such as errors=2',
  ]);
  assert.deepEqual(issues('tps=-1%'), ['"tps=-1%" — expected tps=N% such as tps=5%']);
  assert.match(
    issues('speed=5%')[0]!,
    /^"speed=5%" — unknown metric "speed" \(expected one of tps, qps, .*p95, /,
  );
  assert.deepEqual(issues('tps=5%,tps=6%'), ['"tps=6%" — tps is given twice']);
  assert.deepEqual(issues('p95=5%,latency_p95_ms=6%'), [
    '"latency_p95_ms=6%" — latency_p95_ms is given twice',
  ]);
  assert.equal(issues('tps=5,,qps=x').length, 3);
});

test('applying overrides: thresholds on every workload, rounds, and the timed drivers duration', () => {
  const suite: Suite = SuiteSchema.parse({
    name: 's',
    rounds: 3,
    workloads: [
      {
        id: 'rw',
        title: 'rw',
        driver: 'sysbench',
        threads: 2,
        metrics: { tps: { thresholdPct: 20, policy: 'warn' } },
        options: { test: 'oltp_read_write', timeSec: 10 },
      },
      { id: 'b', title: 'b', driver: 'builtin', threads: 1, options: { mix: 'point_select', timeSec: 10 } },
      { id: 'slap', title: 'slap', driver: 'mysqlslap', threads: 1, options: { query: 'SELECT 1' } },
    ],
  });
  const before = structuredClone(suite);
  const applied = applySuiteOverrides(suite, {
    thresholds: { tps: 5, latency_p95_ms: 10 },
    rounds: 9,
    durationSec: 2,
  });
  assert.deepEqual(suite, before, 'the suite given is left as it was');
  assert.equal(applied.rounds, 9);
  const [rw, builtin, slap] = applied.workloads;
  assert.deepEqual(rw!.metrics, {
    tps: { thresholdPct: 5, policy: 'warn' },
    latency_p95_ms: { thresholdPct: 10 },
  });
  assert.deepEqual(slap!.metrics, { tps: { thresholdPct: 5 }, latency_p95_ms: { thresholdPct: 10 } });
  assert.equal(rw!.driver === 'sysbench' && rw!.options.timeSec, 2);
  assert.equal(builtin!.driver === 'builtin' && builtin!.options.timeSec, 2);
  assert.deepEqual(slap!.options, before.workloads[2]!.options);
  assert.deepEqual(SuiteSchema.parse(applied), applied, 'still a valid suite');
});

test('no overrides: the same suite', () => {
  for (const suite of Object.values(BUILTIN_SUITES))
    assert.deepEqual(applySuiteOverrides(suite, NO_OVERRIDES), suite);
});
