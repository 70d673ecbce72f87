import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STATEMENT_TYPES } from '../statementType.ts';
import {
  AthenaMetrics,
  DURATION_BUCKETS_SECONDS,
  escapeLabelValue,
  METRIC_NAMES,
  type ProcessStats,
} from './metrics.ts';
import { parseExposition, sampleValue } from './exposition.ts';

const fixedProcess: ProcessStats = {
  cpuSeconds: () => 1.5,
  residentMemoryBytes: () => 52_428_800,
  startTimeSeconds: () => 1_700_000_000,
};

test('an empty registry still shows every family, with zero counts for every type', () => {
  const parsed = parseExposition(new AthenaMetrics(fixedProcess).render());
  for (const name of METRIC_NAMES) assert.ok(parsed.types.has(name), `family ${name} missing`);
  for (const type of STATEMENT_TYPES) {
    assert.equal(sampleValue(parsed, 'athena_queries_total', { type }), 0);
    assert.equal(sampleValue(parsed, 'athena_query_errors_total', { type }), 0);
    assert.equal(sampleValue(parsed, 'athena_query_duration_seconds_count', { type }), 0);
  }
  assert.equal(parsed.types.get('athena_query_duration_seconds'), 'histogram');
  assert.equal(parsed.types.get('athena_queries_total'), 'counter');
  assert.equal(parsed.types.get('athena_connections_active'), 'gauge');
  assert.equal(sampleValue(parsed, 'process_cpu_seconds_total', {}), 1.5);
  assert.equal(sampleValue(parsed, 'process_resident_memory_bytes', {}), 52_428_800);
  assert.equal(sampleValue(parsed, 'process_start_time_seconds', {}), 1_700_000_000);
});

test('recorded events come back with the right values under every name of the issue', () => {
  const m = new AthenaMetrics(fixedProcess);
  m.connectionOpened();
  m.connectionOpened();
  m.connectionOpened();
  m.connectionClosed();
  m.recordQuery('select', 0.0001, false); // exactly on the first bound: le="0.0001"
  m.recordQuery('select', 0.0003, false);
  m.recordQuery('select', 0.002, true);
  m.recordQuery('insert', 12, false); // above the last bound: only +Inf
  m.recordQuery('commit', 0.05, true);
  m.rateLimit('acquired', 'app', 'default');
  m.rateLimit('acquired', 'app', 'default');
  m.rateLimit('rejected_queue_full', 'app', 'default');
  m.rateLimit('rejected_timeout', 'app', 'eu');
  m.rateLimit('rejected_qps', 'bob', 'default');
  m.setPoolSource(() => [
    { shard: 'default', idle: 4, active: 2 },
    { shard: 'eu', idle: 0, active: 1 },
  ]);
  const parsed = parseExposition(m.render());

  assert.equal(sampleValue(parsed, 'athena_queries_total', { type: 'select' }), 3);
  assert.equal(sampleValue(parsed, 'athena_queries_total', { type: 'insert' }), 1);
  assert.equal(sampleValue(parsed, 'athena_queries_total', { type: 'commit' }), 1);
  assert.equal(sampleValue(parsed, 'athena_queries_total', { type: 'update' }), 0);
  assert.equal(sampleValue(parsed, 'athena_query_errors_total', { type: 'select' }), 1);
  assert.equal(sampleValue(parsed, 'athena_query_errors_total', { type: 'commit' }), 1);
  assert.equal(sampleValue(parsed, 'athena_query_errors_total', { type: 'insert' }), 0);

  const bucket = (type: string, le: string): number | undefined =>
    sampleValue(parsed, 'athena_query_duration_seconds_bucket', { type, le });
  assert.equal(bucket('select', '0.0001'), 1);
  assert.equal(bucket('select', '0.00025'), 1);
  assert.equal(bucket('select', '0.0005'), 2);
  assert.equal(bucket('select', '0.001'), 2);
  assert.equal(bucket('select', '0.0025'), 3);
  assert.equal(bucket('select', '10'), 3);
  assert.equal(bucket('select', '+Inf'), 3);
  assert.equal(bucket('insert', '10'), 0);
  assert.equal(bucket('insert', '+Inf'), 1);
  const les = parsed.samples
    .filter((s) => s.name === 'athena_query_duration_seconds_bucket' && s.labels.type === 'select')
    .map((s) => s.labels.le);
  assert.deepEqual(les, [...DURATION_BUCKETS_SECONDS.map(String), '+Inf']);
  assert.deepEqual(
    DURATION_BUCKETS_SECONDS.slice(0, 1).concat(DURATION_BUCKETS_SECONDS.slice(-1)),
    [0.0001, 10],
  );
  const sum = sampleValue(parsed, 'athena_query_duration_seconds_sum', { type: 'select' }) ?? NaN;
  assert.ok(Math.abs(sum - 0.0024) < 1e-12, `sum ${sum}`);
  assert.equal(sampleValue(parsed, 'athena_query_duration_seconds_count', { type: 'select' }), 3);
  assert.equal(sampleValue(parsed, 'athena_query_duration_seconds_count', { type: 'insert' }), 1);

  assert.equal(sampleValue(parsed, 'athena_connections_active', {}), 2);
  assert.equal(sampleValue(parsed, 'athena_connections_total', {}), 3);

  assert.equal(sampleValue(parsed, 'athena_rate_limit_acquired_total', { user: 'app', shard: 'default' }), 2);
  assert.equal(
    sampleValue(parsed, 'athena_rate_limit_rejected_queue_full_total', { user: 'app', shard: 'default' }),
    1,
  );
  assert.equal(
    sampleValue(parsed, 'athena_rate_limit_rejected_timeout_total', { user: 'app', shard: 'eu' }),
    1,
  );
  assert.equal(
    sampleValue(parsed, 'athena_rate_limit_rejected_qps_total', { user: 'bob', shard: 'default' }),
    1,
  );
  assert.equal(
    sampleValue(parsed, 'athena_rate_limit_rejected_qps_total', { user: 'app', shard: 'default' }),
    0,
  );

  assert.equal(sampleValue(parsed, 'athena_pool_idle_connections', { shard: 'default' }), 4);
  assert.equal(sampleValue(parsed, 'athena_pool_active_connections', { shard: 'default' }), 2);
  assert.equal(sampleValue(parsed, 'athena_pool_idle_connections', { shard: 'eu' }), 0);
  assert.equal(sampleValue(parsed, 'athena_pool_active_connections', { shard: 'eu' }), 1);
});

test('every sample belongs to a declared family, each family is contiguous and declared once', () => {
  const m = new AthenaMetrics(fixedProcess);
  m.rateLimit('acquired', 'a', 'b');
  m.setPoolSource(() => [{ shard: 's', idle: 1, active: 1 }]);
  const parsed = parseExposition(m.render()); // the parser itself enforces declared-once and contiguity
  for (const sample of parsed.samples) assert.ok(parsed.types.has(sample.family), sample.name);
});

test('label values are escaped (backslash, quote, newline) and parse back to the original', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const m = new AthenaMetrics(fixedProcess);
  const odd = 'we"ird\\user\nname';
  m.rateLimit('rejected_qps', odd, 'sh"ard');
  m.setPoolSource(() => [{ shard: 'x\\y', idle: 7, active: 0 }]);
  const parsed = parseExposition(m.render());
  assert.equal(
    sampleValue(parsed, 'athena_rate_limit_rejected_qps_total', { user: odd, shard: 'sh"ard' }),
    1,
  );
  assert.equal(sampleValue(parsed, 'athena_pool_idle_connections', { shard: 'x\\y' }), 7);
});

test('connectionClosed never drives the gauge below zero; bad durations count as 0', () => {
  const m = new AthenaMetrics(fixedProcess);
  m.connectionClosed();
  m.recordQuery('other', Number.NaN, false);
  m.recordQuery('other', -1, false);
  const parsed = parseExposition(m.render());
  assert.equal(sampleValue(parsed, 'athena_connections_active', {}), 0);
  assert.equal(sampleValue(parsed, 'athena_query_duration_seconds_sum', { type: 'other' }), 0);
  assert.equal(
    sampleValue(parsed, 'athena_query_duration_seconds_bucket', { type: 'other', le: '0.0001' }),
    2,
  );
});

test('a pool source that throws leaves /metrics working', () => {
  const m = new AthenaMetrics(fixedProcess);
  m.setPoolSource(() => {
    throw new Error('pool gone');
  });
  const parsed = parseExposition(m.render());
  assert.ok(parsed.types.has('athena_pool_idle_connections'));
  assert.equal(parsed.samples.filter((s) => s.name === 'athena_pool_idle_connections').length, 0);
});

test('the real process metrics are plausible', () => {
  const parsed = parseExposition(new AthenaMetrics().render());
  const cpu = sampleValue(parsed, 'process_cpu_seconds_total', {}) ?? -1;
  const rss = sampleValue(parsed, 'process_resident_memory_bytes', {}) ?? -1;
  const start = sampleValue(parsed, 'process_start_time_seconds', {}) ?? -1;
  assert.ok(cpu > 0 && cpu < 1e6, `cpu ${cpu}`);
  assert.ok(rss > 1_000_000, `rss ${rss}`);
  assert.ok(Math.abs(start - (Date.now() / 1000 - process.uptime())) < 5, `start ${start}`);
});

test('recordQuery does not allocate per call (heap stays flat over a million calls)', () => {
  const m = new AthenaMetrics(fixedProcess);
  const counters = m.rateLimitCounters('u', 's');
  for (let i = 0; i < 10_000; i++) m.recordQuery('select', 0.001, false); // warm up the JIT
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 1_000_000; i++) {
    m.recordQuery(STATEMENT_TYPES[i % 7] ?? 'other', (i % 1000) / 1e5, i % 10 === 0);
    counters.acquired++;
  }
  const grown = process.memoryUsage().heapUsed - before;
  // A per-call allocation of even 16 bytes would be 16 MB here.
  assert.ok(grown < 4_000_000, `heap grew ${grown} bytes`);
});

test('every statement type is counted under its own label', () => {
  const m = new AthenaMetrics(fixedProcess);
  STATEMENT_TYPES.forEach((type, i) => {
    for (let n = 0; n <= i; n++) m.recordQuery(type, 0.001, false);
  });
  const parsed = parseExposition(m.render());
  STATEMENT_TYPES.forEach((type, i) => {
    assert.equal(sampleValue(parsed, 'athena_queries_total', { type }), i + 1, type);
  });
});
