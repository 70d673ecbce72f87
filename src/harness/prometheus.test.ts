import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counterDeltas, parseCounters, sumMetric, trafficCheck } from './prometheus.ts';

const scrape = (selects: number, inserts: number, active: number) => `# HELP athena_queries_total Queries
# TYPE athena_queries_total counter
athena_queries_total{type="select"} ${selects}
athena_queries_total{type="insert"} ${inserts}
# TYPE athena_connections_active gauge
athena_connections_active ${active}
# TYPE athena_query_duration_seconds histogram
athena_query_duration_seconds_bucket{type="select",le="0.001"} ${selects}
athena_query_duration_seconds_sum{type="select"} 1.5
athena_query_duration_seconds_count{type="select"} ${selects}
process_cpu_seconds_total 3.25
`;

test('keeps counters and histogram count/sum, drops gauges and buckets', () => {
  const series = parseCounters(scrape(10, 2, 5));
  assert.deepEqual([...series.keys()].sort(), [
    'athena_queries_total{type="insert"}',
    'athena_queries_total{type="select"}',
    'athena_query_duration_seconds_count{type="select"}',
    'athena_query_duration_seconds_sum{type="select"}',
    'process_cpu_seconds_total',
  ]);
});

test('deltas and the traffic check over all label sets', () => {
  const deltas = counterDeltas(parseCounters(scrape(10, 2, 5)), parseCounters(scrape(1010, 102, 1)));
  assert.equal(sumMetric(deltas, 'athena_queries_total'), 1100);
  assert.deepEqual(trafficCheck(deltas, 1100), { expectedQueries: 1100, observedQueries: 1100, ok: true });
  assert.equal(trafficCheck(deltas, 1200)!.ok, false, '1100 of 1200 is under 95%');
  assert.equal(trafficCheck(deltas, 1157)!.ok, true, '1100 of 1157 is 95.07%');
});

test('no athena_queries_total: nothing to check against', () => {
  assert.equal(trafficCheck({ haproxy_frontend_bytes_in_total: 5 }, 100), null);
  assert.equal(sumMetric(new Map(), 'athena_queries_total'), null);
});
