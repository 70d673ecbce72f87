import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DriverMetricsSchema } from '../../results/schema.ts';
import { mysqlslapMetrics, parseMysqlslapOutput } from './parse.ts';
import { parseMysqlslapVersion } from './driver.ts';
import { assertInfraError, fixtureOf } from '../../../test/helpers/fixtures.ts';

const fixture = fixtureOf('mysqlslap');

test('the Benchmark block of a --query run', () => {
  const report = parseMysqlslapOutput(fixture('10.11-query-number-of-queries.txt'));
  assert.deepEqual(report, {
    avgSec: 1.574,
    minSec: 1.255,
    maxSec: 2.286,
    clients: 50,
    queriesPerClient: 1000,
    loadType: null,
    engine: null,
  });
  const metrics = DriverMetricsSchema.parse(mysqlslapMetrics(report, 5));
  // 50 clients × 1000 queries in 1.574 s per iteration.
  assert.equal(metrics.qps, 50_000 / 1.574);
  assert.equal(metrics.tps, metrics.qps);
  assert.equal(metrics.queries, 250_000);
  assert.equal(metrics.transactions, 250_000);
  assert.equal(metrics.durationSec, 1.574 * 5);
  assert.deepEqual(metrics.latencyMs, { min: null, avg: 1.574, max: null, p95: null, p99: null });
  assert.equal(metrics.errors, 0);
});

test('the Benchmark block of an --auto-generate-sql run', () => {
  const report = parseMysqlslapOutput(fixture('10.11-auto-generate-number-of-queries.txt'));
  assert.equal(report.avgSec, 0.315);
  assert.equal(report.queriesPerClient, 20);
  const metrics = mysqlslapMetrics(report, 10);
  assert.equal(metrics.qps, 1000 / 0.315);
  assert.equal(metrics.latencyMs.avg, (0.315 / 20) * 1000);
});

test('--csv lines', () => {
  assert.deepEqual(parseMysqlslapOutput(fixture('10.11-auto-generate-csv.txt')), {
    avgSec: 0.246,
    minSec: 0.226,
    maxSec: 0.311,
    clients: 50,
    queriesPerClient: 20,
    loadType: 'mixed',
    engine: '',
  });
  const q = parseMysqlslapOutput(fixture('10.11-query-csv.txt'));
  assert.equal(q.avgSec, 2.09);
  assert.equal(q.queriesPerClient, 1000);
});

test("the performance-testing guide's commands parse; the auto-generate one reports no work done and cannot give a rate", () => {
  const query = parseMysqlslapOutput(fixture('10.11-query-guide-command.txt'));
  assert.equal(query.queriesPerClient, 1);
  assert.equal(mysqlslapMetrics(query, 10).qps, 50 / 0.02);
  const auto = parseMysqlslapOutput(fixture('10.11-auto-generate-guide-command.txt'));
  assert.equal(auto.queriesPerClient, 0);
  assertInfraError(() => mysqlslapMetrics(auto, 10), /0 queries per client[\s\S]*numberOfQueries/);
});

test('a failed query (mysqlslap exits 0 without a Benchmark block) fails loudly', () => {
  assertInfraError(
    () => parseMysqlslapOutput(fixture('10.11-error-unknown-table.txt')),
    /mysqlslap failed: mariadb-slap: Cannot run query SELECT \* FROM no_such_table[\s\S]*doesn't exist/,
  );
});

test('connection errors fail loudly', () => {
  assertInfraError(
    () => parseMysqlslapOutput(fixture('10.11-error-closed-port.txt')),
    /Can't connect to server on '127\.0\.0\.1'/,
  );
  assertInfraError(() => parseMysqlslapOutput(fixture('10.11-error-access-denied.txt')), /Access denied/);
});

test('empty, truncated and unrelated outputs fail loudly', () => {
  assertInfraError(() => parseMysqlslapOutput(''), /the output is empty/);
  assertInfraError(() => parseMysqlslapOutput('hello\nworld\n'), /no "Benchmark" block[\s\S]*world/);
  const truncated = fixture('10.11-query-number-of-queries.txt').split('\n').slice(0, 3).join('\n');
  assertInfraError(
    () => parseMysqlslapOutput(truncated),
    /lacks "Maximum number of seconds to run all queries", "Number of clients running queries", "Average number of queries per client"/,
  );
  assertInfraError(() => parseMysqlslapOutput(',mixed,abc,0.1,0.2,5,10\n'), /non-numeric/);
});

test('a zero-second iteration is too short to measure, not an infinite rate', () => {
  const report = parseMysqlslapOutput(
    fixture('10.11-query-guide-command.txt').replace(/0\.020 seconds/, '0.000 seconds'),
  );
  assertInfraError(() => mysqlslapMetrics(report, 10), /too short to measure/);
});

test('warnings are not errors', () => {
  const text = `mysqlslap: [Warning] Using a password on the command line interface can be insecure.\n${fixture('10.11-query-guide-command.txt')}`;
  assert.equal(parseMysqlslapOutput(text).clients, 50);
});

test('versions of mariadb-slap and MySQL 8 mysqlslap', () => {
  assert.equal(
    parseMysqlslapVersion('mariadb-slap  Ver 1.0 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)\n'),
    'mariadb-slap Ver 1.0 Distrib 10.11.19-MariaDB',
  );
  assert.equal(
    parseMysqlslapVersion('mysqlslap  Ver 8.0.35 for Linux on x86_64 (MySQL Community Server - GPL)\n'),
    'mysqlslap Ver 8.0.35',
  );
  assert.equal(
    parseMysqlslapVersion(
      '/usr/bin/mariadb-slap  Ver 1.0 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)\n',
    ),
    'mariadb-slap Ver 1.0 Distrib 10.11.19-MariaDB',
  );
  assert.equal(parseMysqlslapVersion('command not found'), null);
});
