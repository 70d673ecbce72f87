import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyHistogram } from './histogram.ts';

test('percentiles within a bucket width of the exact value', () => {
  const h = new LatencyHistogram();
  // 1..1000 ms: the exact p95 is 950, p99 990.
  for (let i = 1; i <= 1000; i++) h.record(i);
  const s = h.summary();
  assert.equal(s.min, 1);
  assert.equal(s.max, 1000);
  assert.equal(s.avg, 500.5);
  assert.ok(Math.abs(s.p95! - 950) / 950 < 0.02, `p95 ${s.p95}`);
  assert.ok(Math.abs(s.p99! - 990) / 990 < 0.02, `p99 ${s.p99}`);
  assert.ok(s.p95! <= s.p99! && s.p99! <= s.max!);
  assert.equal(h.count, 1000);
});

test('never reports a percentile above the largest sample; clamps out-of-range values', () => {
  const h = new LatencyHistogram();
  h.record(0.5);
  assert.equal(h.percentile(99), 0.5);
  h.record(0);
  h.record(1e9);
  assert.equal(h.count, 3);
  assert.equal(h.summary().max, 1e9);
});

test('an empty histogram has no figures rather than zeros', () => {
  assert.deepEqual(new LatencyHistogram().summary(), {
    min: null,
    avg: null,
    max: null,
    p95: null,
    p99: null,
  });
});
