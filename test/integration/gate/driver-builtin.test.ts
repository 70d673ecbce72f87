import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfrastructureError } from '../../../src/util/errors.ts';
import { DriverMetricsSchema } from '../../../src/results/schema.ts';
import { WorkloadSchema } from '../../../src/suite/schema.ts';
import { findFreePort } from '../../../src/util/net.ts';
import { benchServer } from '../../helpers/drivers.ts';
import {
  BUILTIN_TABLE_PREFIX,
  createBuiltinDriver,
  type BuiltinWorkload,
} from '../../../src/drivers/builtin/driver.ts';

const bench = benchServer();
const { ctx, query } = bench;

const driver = createBuiltinDriver();

function workload(mix: 'point_select' | 'read_write', common: Record<string, unknown> = {}): BuiltinWorkload {
  const w = WorkloadSchema.parse({
    id: mix.replace('_', '-'),
    title: mix,
    driver: 'builtin',
    threads: 4,
    ...common,
    options: { mix, tables: 2, tableSize: 500, timeSec: 1.5 },
  });
  assert.ok(w.driver === 'builtin');
  return w;
}

test('prepare creates sbtest-like tables with N rows; cleanup drops them', async () => {
  const w = workload('point_select');
  await driver.prepare(w, ctx());
  const counts = await query<{ n: number }>(
    `SELECT COUNT(*) AS n, MAX(id) AS m FROM ${BUILTIN_TABLE_PREFIX}2`,
  );
  assert.equal(Number(counts[0]!.n), 500);
  const columns = await query<{ Field: string }>(`SHOW COLUMNS FROM ${BUILTIN_TABLE_PREFIX}1`);
  assert.deepEqual(
    columns.map((c) => c.Field),
    ['id', 'k', 'c', 'pad'],
  );
  await driver.cleanup(w, ctx());
  assert.equal((await query(`SHOW TABLES FROM bench LIKE '${BUILTIN_TABLE_PREFIX}%'`)).length, 0);
});

test('point_select: a closed loop with latency percentiles and its own CPU cost', async () => {
  const w = workload('point_select', { warmupSec: 0.5 });
  await driver.prepare(w, ctx());
  try {
    const progress: number[] = [];
    const run = await driver.run(w, ctx({ onProgress: (p) => progress.push(p.qps) }));
    const m = DriverMetricsSchema.parse(run.metrics);
    assert.ok(m.tps > 0 && m.qps === m.tps, JSON.stringify(m));
    assert.equal(m.queriesRead, m.queries);
    assert.equal(m.errors, 0);
    const { min, avg, max, p95, p99 } = m.latencyMs;
    assert.ok(min! <= avg! && avg! <= max! && p95! <= p99! && p99! <= max!, JSON.stringify(m.latencyMs));
    assert.ok(m.durationSec >= 1.4 && m.durationSec < 15, String(m.durationSec));
    assert.ok(run.loadGeneratorCpuUsPerQuery !== null && run.loadGeneratorCpuUsPerQuery > 0);
    assert.ok(progress.length >= 1, 'no progress reported');
    assert.match(run.rawOutput, /load generator CPU [\d.]+ µs\/query/);
  } finally {
    await driver.cleanup(w, ctx());
  }
});

test('read_write: 20 statements per transaction, like oltp_read_write', async () => {
  const w = workload('read_write');
  await driver.prepare(w, ctx());
  try {
    const run = await driver.run(w, ctx(), { durationSec: 1 });
    const m = DriverMetricsSchema.parse(run.metrics);
    assert.ok(m.tps > 0 && m.qps > m.tps);
    assert.ok(m.queriesRead! >= m.transactions * 14);
    assert.ok(m.queriesWrite! >= m.transactions * 4 && m.queriesOther! >= m.transactions * 2);
    // Completed transactions run exactly 20 statements; retried ones (deadlocks) add a few partial ones.
    assert.ok(m.queries / m.transactions >= 20 && m.queries / m.transactions < 21, JSON.stringify(m));
    const rows = await query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${BUILTIN_TABLE_PREFIX}1`);
    assert.equal(Number(rows[0]!.n), 500, 'DELETE + INSERT must keep the table size');
  } finally {
    await driver.cleanup(w, ctx());
  }
});

test('a closed port fails loudly without the password', async () => {
  const port = await findFreePort();
  await assert.rejects(
    driver.run(workload('point_select'), ctx({ target: { ...ctx().target, port } })),
    (error: unknown) => {
      assert.ok(error instanceof InfrastructureError);
      assert.match(
        error.message,
        new RegExp(`cannot connect to mysql://root:\\*\\*\\*@127\\.0\\.0\\.1:${port}/bench`),
      );
      assert.ok(!error.message.includes(bench.server.password));
      return true;
    },
  );
});

test('a missing table fails the run loudly', async () => {
  await assert.rejects(driver.run(workload('point_select'), ctx()), (error: unknown) => {
    assert.ok(error instanceof InfrastructureError);
    assert.match(error.message, /athena_sbtest\d' doesn't exist/);
    return true;
  });
});

test('an abort stops the loop and fails the run', async () => {
  const w = workload('point_select');
  await driver.prepare(w, ctx());
  try {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    await assert.rejects(
      driver.run({ ...w, options: { ...w.options, timeSec: 30 } }, ctx({ signal: controller.signal })),
      /aborted/,
    );
    assert.ok(Date.now() - started < 15_000);
  } finally {
    await driver.cleanup(w, ctx());
  }
});
