import { test } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { InfrastructureError } from '../../../src/util/errors.ts';
import { DriverMetricsSchema } from '../../../src/results/schema.ts';
import { WorkloadSchema } from '../../../src/suite/schema.ts';
import { realExec } from '../../../src/util/exec.ts';
import { findFreePort } from '../../../src/util/net.ts';
import { benchServer } from '../../helpers/drivers.ts';
import { createSysbenchDriver, type SysbenchWorkload } from '../../../src/drivers/sysbench/driver.ts';

const bench = benchServer();
const { ctx } = bench;

const driver = createSysbenchDriver();

function workload(
  test: string,
  extra: Record<string, unknown> = {},
  common: Record<string, unknown> = {},
): SysbenchWorkload {
  const w = WorkloadSchema.parse({
    id: test.replace(/_/g, '-'),
    title: test,
    driver: 'sysbench',
    threads: 2,
    ...common,
    options: { test, tables: 1, tableSize: 200, timeSec: 2, ...extra },
  });
  assert.ok(w.driver === 'sysbench');
  return w;
}

function assertPlausible(metrics: unknown): void {
  const m = DriverMetricsSchema.parse(metrics);
  assert.ok(m.tps > 0, `tps ${m.tps}`);
  assert.ok(m.qps >= m.tps, `qps ${m.qps} < tps ${m.tps}`);
  assert.ok(m.transactions > 0 && m.queries >= m.transactions);
  const { min, avg, max, p95, p99 } = m.latencyMs;
  assert.ok(
    min !== null && avg !== null && max !== null && p95 !== null && p99 !== null,
    JSON.stringify(m.latencyMs),
  );
  assert.ok(min <= avg && avg <= max, JSON.stringify(m.latencyMs));
  assert.ok(p95 <= p99 && p99 <= max, JSON.stringify(m.latencyMs));
  assert.ok(m.durationSec > 0.5 && m.durationSec < 30);
}

async function tableCount(): Promise<number> {
  const conn = await mysql.createConnection({ ...ctx().target });
  try {
    const [rows] = await conn.query(
      "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'bench' AND table_name LIKE 'sbtest%'",
    );
    return Number((rows as Array<{ n: number }>)[0]!.n);
  } finally {
    await conn.end();
  }
}

test('detect finds sysbench and its version; a missing binary gives the install command', async () => {
  const found = await driver.detect(realExec);
  assert.ok(found.available, JSON.stringify(found));
  assert.match(found.version, /^\d+\.\d+\.\d+$/);
  const missing = await createSysbenchDriver({ find: () => undefined }).detect(realExec);
  assert.deepEqual(missing, {
    available: false,
    reason: 'sysbench not found on PATH',
    installHint: process.platform === 'darwin' ? 'brew install sysbench' : 'sudo apt-get install -y sysbench',
  });
});

test('prepare, run (with warmup and progress) and cleanup: oltp_point_select', async () => {
  const w = workload('oltp_point_select', {}, { warmupSec: 1 });
  await driver.prepare(w, ctx());
  assert.equal(await tableCount(), 1);
  // prepare again over leftovers (an interrupted run) must work too.
  await driver.prepare(w, ctx());
  const progress: number[] = [];
  const run = await driver.run(w, ctx({ onProgress: (p) => progress.push(p.tps) }));
  assertPlausible(run.metrics);
  assert.equal(run.metrics.errors, 0);
  assert.equal(run.metrics.queriesWrite, 0);
  assert.ok(progress.length >= 1 && progress.every((t) => t > 0), `progress ${JSON.stringify(progress)}`);
  assert.equal(run.loadGeneratorCpuUsPerQuery, null);
  assert.match(run.rawOutput, /# warmup run \(discarded\)[\s\S]*# measured run[\s\S]*SQL statistics:/);
  assert.ok(!run.rawOutput.includes(bench.server.password), 'the password leaked into the raw output');
  await driver.cleanup(w, ctx());
  assert.equal(await tableCount(), 0);
});

test('oltp_read_write with --db-ps-mode=disable and a --duration override', async () => {
  const w = workload('oltp_read_write', { psMode: 'disable' });
  await driver.prepare(w, ctx());
  try {
    const run = await driver.run(w, ctx(), { durationSec: 2 });
    assertPlausible(run.metrics);
    assert.ok(run.metrics.durationSec >= 1.5, `durationSec ${run.metrics.durationSec}`);
    assert.ok(
      run.metrics.queriesRead! > 0 && run.metrics.queriesWrite! > 0 && run.metrics.queriesOther! > 0,
      JSON.stringify(run.metrics),
    );
    // 20 statements per transaction: 14 reads, 4 writes, BEGIN/COMMIT (retried deadlocks add a few).
    assert.ok(Math.abs(run.metrics.queries / run.metrics.transactions - 20) < 1, JSON.stringify(run.metrics));
  } finally {
    await driver.cleanup(w, ctx());
  }
});

test('oltp_insert (prepared statements)', async () => {
  const w = workload('oltp_insert');
  await driver.prepare(w, ctx());
  try {
    const run = await driver.run(w, ctx());
    assertPlausible(run.metrics);
    assert.equal(run.metrics.errors, 0);
    assert.equal(run.metrics.queriesWrite, run.metrics.queries);
  } finally {
    await driver.cleanup(w, ctx());
  }
});

/**
 * Command lines of the sysbench processes this test started, as `ps` shows them to every user
 * (other sysbench processes on the machine are not this test's business).
 */
function sysbenchCommandLines(): string[] {
  const lines: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (parent === process.pid && argv.some((a) => a.endsWith('sysbench'))) lines.push(argv.join(' '));
    } catch {
      // The process exited meanwhile.
    }
  }
  return lines;
}

test('the password reaches MySQL through the config file: quotes, spaces, commas; ps never shows it', async () => {
  const password = `pa ss, "w#rd`;
  const admin = await mysql.createConnection({ ...ctx().target });
  try {
    await admin.query("CREATE USER IF NOT EXISTS 'tricky'@'%' IDENTIFIED BY ?", [password]);
    await admin.query("GRANT ALL ON bench.* TO 'tricky'@'%'");
  } finally {
    await admin.end();
  }
  const target = { ...ctx().target, user: 'tricky', password };
  const w = workload('oltp_point_select', { timeSec: 2 });
  const commandLines: string[] = [];
  await driver.prepare(w, ctx({ target }));
  try {
    const run = await driver.run(
      w,
      ctx({ target, onProgress: () => commandLines.push(...sysbenchCommandLines()) }),
    );
    assertPlausible(run.metrics);
  } finally {
    await driver.cleanup(w, ctx({ target }));
  }
  assert.ok(commandLines.length > 0, 'sysbench was seen running');
  for (const line of commandLines) {
    assert.ok(line.includes('--config-file='), line);
    assert.ok(!line.includes(password) && !line.includes('w#rd'), `ps shows the password: ${line}`);
  }
});

test('a closed port fails loudly, naming the connection error and not the password', async () => {
  const port = await findFreePort();
  const w = workload('oltp_point_select');
  const closed = ctx({ target: { ...ctx().target, port } });
  for (const call of [() => driver.run(w, closed), () => driver.prepare(w, closed)]) {
    await assert.rejects(call(), (error: unknown) => {
      assert.ok(error instanceof InfrastructureError, String(error));
      assert.match(
        error.message,
        new RegExp(
          `(unable to connect to MySQL server on host '127\\.0\\.0\\.1', port ${port}|Can't connect)`,
        ),
      );
      assert.ok(!error.message.includes(bench.server.password));
      return true;
    });
  }
});

test('an abort kills sysbench and fails the run', async () => {
  const w = workload('oltp_point_select', { timeSec: 30 });
  await driver.prepare(w, ctx());
  try {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1500);
    const started = Date.now();
    await assert.rejects(driver.run(w, ctx({ signal: controller.signal })), (error: unknown) => {
      assert.ok(error instanceof InfrastructureError);
      assert.match(error.message, /aborted/);
      return true;
    });
    assert.ok(Date.now() - started < 15_000);
  } finally {
    await driver.cleanup(w, ctx());
  }
});

test('a missing binary fails run with the install command', async () => {
  const none = createSysbenchDriver({ find: () => undefined });
  await assert.rejects(
    none.run(workload('oltp_point_select'), ctx()),
    /sysbench is not available \(sysbench not found on PATH\)\. Install it: /,
  );
});
