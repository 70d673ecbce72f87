import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricComparison, WorkloadVerdict } from './compare.ts';
import { needsRoundsToResolve, resolvedThroughputLossPct } from './resolution.ts';

function metric(over: Partial<MetricComparison>): MetricComparison {
  return {
    metric: 'overhead_pct',
    variant: 'raw',
    label: 'overhead',
    unit: 'pts',
    direction: 'lower-better',
    scale: 'points',
    thresholdPct: 5,
    policy: 'gate',
    baselineSamples: [],
    currentSamples: [],
    baselineMedian: 50,
    currentMedian: 50,
    delta: 0,
    ciLow: -3,
    ciHigh: 3,
    ciLevel: 0.95,
    pValue: 0.5,
    pAdjusted: 1,
    verdict: 'pass',
    note: null,
    channel: 'time',
    resolution: 5,
    outliers: null,
    ...over,
  };
}

function workload(metrics: MetricComparison[]): WorkloadVerdict {
  return {
    id: 'w',
    title: 'W',
    driver: 'sysbench',
    threads: 1,
    verdict: 'pass',
    rounds: { current: 4, baseline: 8, planned: 4 },
    unsettledSpreadPct: null,
    otherMachine: null,
    metrics,
    notes: [],
  };
}

test('an overhead resolution in points is a throughput loss through the overhead: 6 pts at 60% is 15%', () => {
  assert.equal(resolvedThroughputLossPct(workload([metric({ currentMedian: 60, resolution: 6 })])), 15);
  // The best of the throughput hypothesis' metrics counts; latency and counts do not.
  const mixed = workload([
    metric({ currentMedian: 50, resolution: 10 }),
    metric({ metric: 'tps', scale: 'relative', direction: 'higher-better', resolution: 12 }),
    metric({ metric: 'added_latency_p95_ms', scale: 'relative', resolution: 3 }),
    metric({ metric: 'instructions_per_query', channel: 'work', scale: 'relative', resolution: 1 }),
  ]);
  assert.equal(resolvedThroughputLossPct(mixed), 12);
  assert.equal(
    resolvedThroughputLossPct(workload([metric({ policy: 'warn' })])),
    null,
    'a warning does not guard',
  );
  assert.equal(
    resolvedThroughputLossPct(workload([metric({ resolution: null, verdict: 'regressed' })])),
    null,
  );
});

test('more rounds are asked for only when the interval, not the threshold, hides a 15% loss', () => {
  assert.equal(needsRoundsToResolve(workload([metric({ currentMedian: 50, resolution: 11.5 })])), true);
  assert.equal(needsRoundsToResolve(workload([metric({ currentMedian: 50, resolution: 7 })])), false, '14%');
  // mysqlslap's 10-point threshold at 50% overhead is a 20% loss by itself: rounds cannot narrow it.
  assert.equal(needsRoundsToResolve(workload([metric({ thresholdPct: 10, resolution: 10 })])), false);
  assert.equal(needsRoundsToResolve(workload([metric({ thresholdPct: 10, resolution: 11 })])), true);
});
