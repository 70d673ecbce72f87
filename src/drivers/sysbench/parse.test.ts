import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DriverMetricsSchema } from '../../results/schema.ts';
import {
  histogramPercentile,
  parseSysbenchIntervalLine,
  parseSysbenchOutput,
  parseSysbenchVersion,
  supportsWarmupTime,
  sysbenchMetrics,
} from './parse.ts';
import { assertInfraError, fixtureOf } from '../../../test/helpers/fixtures.ts';

const fixture = fixtureOf('sysbench');

test('1.0.20 (system LuaJIT) oltp_read_write: every figure of the final report and the intervals', () => {
  const report = parseSysbenchOutput(fixture('1.0.20-system-oltp_read_write.txt'));
  assert.deepEqual(report.version, {
    version: '1.0.20',
    build: '',
    luajit: 'system',
    luajitVersion: '2.1.0-beta3',
  });
  assert.deepEqual(report.queries, { read: 35336, write: 10085, other: 5043, total: 50464 });
  assert.equal(report.transactions, 2519);
  assert.equal(report.tps, 835.69);
  assert.equal(report.qps, 16741.7);
  assert.equal(report.ignoredErrors, 5);
  assert.equal(report.reconnects, 0);
  assert.equal(report.totalTimeSec, 3.0135);
  assert.equal(report.totalEvents, 2519);
  assert.equal(report.latencyMs.min, 0.9);
  assert.equal(report.latencyMs.avg, 4.77);
  assert.equal(report.latencyMs.max, 55.7);
  assert.equal(report.latencyMs.sum, 12012.45);
  assert.deepEqual([...report.latencyMs.percentiles], [[95, 8.13]]);
  assert.equal(report.intervals.length, 3);
  assert.deepEqual(report.intervals[2], {
    tSec: 3,
    threads: 4,
    tps: 934.06,
    qps: 18728.25,
    readQps: 13115.88,
    writeQps: 3741.25,
    otherQps: 1871.13,
    latencyPercentile: 95,
    latencyMs: 6.91,
    errorsPerSec: 3,
    reconnectsPerSec: 0,
  });
  assert.equal(report.histogram, null);

  const metrics = DriverMetricsSchema.parse(sysbenchMetrics(report));
  assert.equal(metrics.tps, 835.69);
  assert.equal(metrics.qps, 16741.7);
  assert.equal(metrics.queries, 50464);
  assert.equal(metrics.queriesRead, 35336);
  assert.equal(metrics.errors, 5);
  assert.deepEqual(metrics.latencyMs, { min: 0.9, avg: 4.77, max: 55.7, p95: 8.13, p99: null });
  assert.equal(metrics.intervals.length, 3);
  assert.equal(metrics.intervals[0]!.errors, 1);
});

test('1.0.20 --db-ps-mode=disable read/write and insert outputs parse', () => {
  const rw = sysbenchMetrics(parseSysbenchOutput(fixture('1.0.20-system-oltp_read_write-ps-disable.txt')));
  assert.equal(rw.transactions, 1940);
  assert.equal(rw.tps, 967.89);
  assert.ok(rw.qps >= rw.tps);
  const insert = sysbenchMetrics(parseSysbenchOutput(fixture('1.0.20-system-oltp_insert-ps-disable.txt')));
  assert.equal(insert.transactions, 42173);
  assert.equal(insert.queriesWrite, 42173);
  assert.equal(insert.queriesRead, 0);
  assert.equal(insert.latencyMs.p95, 0.39);
});

test('with --histogram both p95 and p99 come from the histogram like sysbench computes them, to three decimals', () => {
  const report = parseSysbenchOutput(fixture('1.0.20-system-oltp_point_select-p99-histogram.txt'));
  assert.deepEqual([...report.latencyMs.percentiles], [[99, 0.48]]);
  assert.ok(report.histogram && report.histogram.length > 100);
  assert.equal(
    report.histogram.reduce((s, b) => s + b.count, 0),
    report.totalEvents,
  );
  // sysbench's own 99th percentile from the same histogram is 0.48 (printed with two decimals).
  assert.equal(histogramPercentile(report.histogram, 99), 0.481);
  assert.equal(report.intervals[0]!.latencyPercentile, 99);
  const metrics = sysbenchMetrics(report);
  assert.equal(metrics.latencyMs.p99, 0.481, 'the printed 0.48, one decimal finer');
  assert.equal(metrics.latencyMs.p95, 0.342);
  assert.ok(metrics.latencyMs.p95! <= metrics.latencyMs.p99!);
});

test('1.0.20 with bundled LuaJIT (published output)', () => {
  const report = parseSysbenchOutput(fixture('1.0.20-bundled-oltp_read_write.txt'));
  assert.equal(report.version?.luajit, 'bundled');
  assert.equal(report.version?.luajitVersion, '2.1.0-beta2');
  assert.equal(report.transactions, 1010);
  assert.equal(report.tps, 10.1);
  assert.equal(report.qps, 201.93);
  assert.equal(report.totalTimeSec, 100.0326);
  assert.equal(report.intervals.length, 10);
  assert.equal(report.intervals[9]!.tSec, 100);
  assert.equal(report.latencyMs.percentiles.get(95), 116.8);
  const errors = parseSysbenchOutput(fixture('1.0.20-bundled-oltp_read_write-64-threads-errors.txt'));
  assert.equal(errors.ignoredErrors, 1);
  assert.equal(sysbenchMetrics(errors).errors, 1);
});

test('1.1 "Throughput:" block (published output)', () => {
  const report = parseSysbenchOutput(fixture('1.1-throughput-oltp_read_write.txt'));
  assert.equal(report.version, null);
  assert.equal(report.totalTimeSec, 120.0011);
  assert.equal(report.totalEvents, 592664);
  assert.equal(report.tps, 4938.82);
  assert.equal(report.qps, 98776.44);
  const metrics = sysbenchMetrics(report);
  assert.deepEqual(metrics.latencyMs, { min: 0.65, avg: 0.81, max: 60.16, p95: 1.01, p99: null });
});

test('several printed percentiles, including the 99.9th', () => {
  const report = parseSysbenchOutput(fixture('1.1-throughput-multi-percentile.txt'));
  assert.deepEqual(
    [...report.latencyMs.percentiles],
    [
      [95, 9.39],
      [99, 27.17],
      [99.9, 816.63],
    ],
  );
  const metrics = sysbenchMetrics(report);
  assert.equal(metrics.latencyMs.p95, 9.39);
  assert.equal(metrics.latencyMs.p99, 27.17);
});

test('intermediate lines from the Lua reporter (err/s without a colon) and decimal times', () => {
  const lines = fixture('1.1-lua-report-intermediate.txt').trim().split('\n');
  const parsed = lines.map(parseSysbenchIntervalLine);
  assert.ok(parsed.every((p) => p !== null));
  assert.equal(parsed[0]!.errorsPerSec, 1);
  assert.equal(parsed[2]!.otherQps, 103);
  const decimal = parseSysbenchIntervalLine(
    '[ 51.0s ] thds: 16 tps: 547.55 qps: 10943.91 (r/w/o: 7657.64/2191.18/1095.09) lat (ms,95%): 90.78 err/s: 0.00 reconn/s: 0.00',
  );
  assert.equal(decimal?.tSec, 51);
  assert.equal(parseSysbenchIntervalLine('Threads started!'), null);
  assert.equal(parseSysbenchIntervalLine(''), null);
});

test('versions and --warmup-time support', () => {
  assert.deepEqual(parseSysbenchVersion('sysbench 1.1.0-faaff4f (using bundled LuaJIT 2.1.0-beta3)\n'), {
    version: '1.1.0',
    build: '-faaff4f',
    luajit: 'bundled',
    luajitVersion: '2.1.0-beta3',
  });
  assert.equal(parseSysbenchVersion('sysbench 1.0.20\n')?.version, '1.0.20');
  assert.equal(parseSysbenchVersion('hello'), null);
  assert.equal(supportsWarmupTime('1.0.20'), false);
  assert.equal(supportsWarmupTime('1.1.0'), true);
  assert.equal(supportsWarmupTime('2.0.0'), true);
});

test('fails loudly on a truncated report (published 1.1 output cut at "min:")', () => {
  assertInfraError(
    () => parseSysbenchOutput(fixture('1.1-warmup-truncated.txt')),
    /Latency \(ms\):" block lacks min\/avg\/max[\s\S]*Last lines of the output:[\s\S]*min:/,
  );
});

test('fails loudly when sysbench was killed before its final report', () => {
  assertInfraError(
    () => parseSysbenchOutput(fixture('1.0.20-system-killed-mid-run.txt')),
    /no "SQL statistics:" block[\s\S]*\[ 2s \] thds: 2/,
  );
});

test('fails loudly on FATAL outputs, naming the error', () => {
  assertInfraError(
    () => parseSysbenchOutput(fixture('1.0.20-system-fatal-closed-port.txt')),
    /sysbench failed: FATAL: unable to connect to MySQL server on host '127\.0\.0\.1', port 1/,
  );
  assertInfraError(
    () => parseSysbenchOutput(fixture('1.0.20-system-fatal-access-denied.txt')),
    /Access denied for user 'root'/,
  );
  assertInfraError(
    () => parseSysbenchOutput(fixture('1.0.20-system-fatal-missing-table.txt')),
    /Table 'bench\.sbtest3' doesn't exist/,
  );
  assertInfraError(
    () => parseSysbenchOutput(fixture('1.0.20-system-fatal-server-died.txt')),
    /sysbench failed: FATAL: mysql_stmt_execute\(\) returned error 2013 \(Lost connection to server during query\)/,
  );
  assertInfraError(
    () => parseSysbenchOutput(fixture('1.0.20-system-invalid-option-warmup-time.txt')),
    /invalid option: --warmup-time=1/,
  );
});

test('fails loudly on empty and unrelated outputs, and on prepare/cleanup output given as a run', () => {
  assertInfraError(() => parseSysbenchOutput(''), /the output is empty[\s\S]*\(empty output\)/);
  assertInfraError(() => parseSysbenchOutput('\n  \n'), /the output is empty/);
  assertInfraError(() => parseSysbenchOutput(fixture('1.0.20-system-prepare.txt')), /no "SQL statistics:"/);
  assertInfraError(
    () => parseSysbenchOutput(fixture('1.0.20-system-cleanup.txt')),
    /Dropping table 'sbtest2'/,
  );
});

test('fails loudly when a field of the final report is missing', () => {
  const full = fixture('1.0.20-system-oltp_read_write.txt');
  assertInfraError(
    () => parseSysbenchOutput(full.replace(/^\s*ignored errors:.*\n/m, '')),
    /lacks "ignored errors"/,
  );
  assertInfraError(
    () => parseSysbenchOutput(full.replace(/^\s*total time:.*\n/m, '')),
    /no "total time:" \/ "time elapsed:" line/,
  );
  assertInfraError(
    () => parseSysbenchOutput(full.replace(/^\s*95th percentile:.*\n/m, '')),
    /no "Nth percentile:" line/,
  );
  assertInfraError(
    () => parseSysbenchOutput(full.replace('General statistics:', 'Statistics in general:')),
    /neither a "General statistics:" nor a "Throughput:" block/,
  );
});

test('a run that completed zero transactions is an error, not a zero', () => {
  const zero = fixture('1.0.20-system-oltp_insert-ps-disable.txt')
    .replace(
      /transactions:\s+42173\s+\(21024\.84 per sec\.\)/,
      'transactions:                        0  (0.00 per sec.)',
    )
    .replace(/total number of events:\s+42173/, 'total number of events:              0');
  assertInfraError(() => sysbenchMetrics(parseSysbenchOutput(zero)), /0 transactions/);
});
