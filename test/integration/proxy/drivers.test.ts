// The performance-testing guide's (docs/PERF.md) drivers through Athena, with reduced iterations and time:
// sysbench oltp_read_write prepare / run (16 threads) / cleanup with server-side prepared statements
// (the default) and with --db-ps-mode=disable, and both mysqlslap commands; all with 0 errors, and
// /metrics counting what the drivers sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';
import { totalQueries } from '../../helpers/metrics.ts';

let server: LocalServer;
let proxy: RunningProxy;

before(async () => {
  server = await startLocalServer();
  proxy = await spawnProxy({
    backend: { host: server.host, port: server.port, user: 'root', password: server.password },
  });
});

after(async () => {
  const code = (await proxy?.stop())?.code;
  await server?.stop();
  assert.equal(code, 0);
});

function run(
  command: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function sysbench(
  step: string,
  extra: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run('sysbench', [
    'oltp_read_write',
    '--mysql-host=127.0.0.1',
    `--mysql-port=${proxy.port}`,
    '--mysql-user=root',
    `--mysql-password=${server.password}`,
    '--mysql-db=test',
    '--tables=4',
    '--table-size=2000',
    ...extra,
    step,
  ]);
}

/** sysbench's "read: N / write: N / other: N / queries: N / ignored errors: N" summary. */
function sysbenchCounts(stdout: string): {
  read: number;
  write: number;
  other: number;
  total: number;
  errors: number;
} {
  const num = (label: string): number => {
    const m = new RegExp(`${label}:\\s+(\\d+)`).exec(stdout);
    assert.ok(m, `sysbench output has "${label}":\n${stdout}`);
    return Number(m[1]);
  };
  return {
    read: num('read'),
    write: num('write'),
    other: num('other'),
    total: num('total'),
    errors: num('ignored errors'),
  };
}

for (const psMode of ['auto', 'disable']) {
  test(`sysbench oltp_read_write prepare/run/cleanup, --db-ps-mode=${psMode}`, async () => {
    const prepare = await sysbench('prepare');
    assert.equal(prepare.code, 0, prepare.stderr + prepare.stdout);
    const before = await proxy.metricsText();
    const runResult = await sysbench('run', ['--threads=16', '--time=4', `--db-ps-mode=${psMode}`]);
    assert.equal(runResult.code, 0, runResult.stderr + runResult.stdout);
    const afterText = await proxy.metricsText();
    const counts = sysbenchCounts(runResult.stdout);
    assert.ok(counts.total > 0);
    // Deadlocks (1213) are retried by sysbench and reported as "ignored errors"; nothing else may fail.
    assert.doesNotMatch(runResult.stdout + runResult.stderr, /FATAL|error 2013|Lost connection/);
    const delta = (type: string): number => {
      const re = new RegExp(`^athena_queries_total\\{type="${type}"\\} (\\S+)$`, 'm');
      return Number(re.exec(afterText)?.[1]) - Number(re.exec(before)?.[1]);
    };
    // Every query sysbench counted went through Athena and was typed like sysbench types it
    // (reads = SELECTs, writes = INSERT/UPDATE/DELETE, other = BEGIN/COMMIT). In ps mode the
    // EXECUTEs carry their PREPAREd statement's type; the PREPAREs themselves are 'other'.
    // A statement that failed with an ignored error (deadlock) is forwarded and counted by Athena, not
    // by sysbench: each ignored error may add one to Athena's count.
    const within = (actual: number, expected: number, what: string): void =>
      assert.ok(
        actual >= expected && actual <= expected + counts.errors,
        `${what}: Athena counted ${actual}, sysbench ${expected} (+ up to ${counts.errors} failed)`,
      );
    within(delta('select'), counts.read, 'SELECTs');
    within(delta('insert') + delta('update') + delta('delete'), counts.write, 'writes');
    // A deadlock makes sysbench send ROLLBACK ('other' for Athena) instead of COMMIT.
    const transactions = delta('begin') + delta('commit');
    assert.ok(
      transactions <= counts.other && transactions >= counts.other - counts.errors,
      `${transactions} vs ${counts.other}`,
    );
    assert.ok(totalQueries(afterText) - totalQueries(before) >= counts.total);
    const cleanup = await sysbench('cleanup');
    assert.equal(cleanup.code, 0, cleanup.stderr + cleanup.stdout);
  });
}

test('mysqlslap --auto-generate-sql, concurrency 50 (connects without a database, then selects one)', async () => {
  const result = await run('mysqlslap', [
    '--host=127.0.0.1',
    `--port=${proxy.port}`,
    '--user=root',
    `--password=${server.password}`,
    '--concurrency=50',
    '--iterations=2',
    '--number-int-cols=2',
    '--number-char-cols=3',
    '--auto-generate-sql',
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Number of clients running queries: 50/);
  assert.doesNotMatch(result.stderr, /ERROR|Error/);
});

test('mysqlslap --query against a users table, concurrency 50', async () => {
  // mysqlslap runs --query in its own schema, `mysqlslap`: create it with the table the query reads.
  const conn = await mysql.createConnection({
    host: '127.0.0.1',
    port: proxy.port,
    user: 'root',
    password: server.password,
  });
  await conn.query('CREATE DATABASE IF NOT EXISTS mysqlslap');
  await conn.query('CREATE TABLE IF NOT EXISTS mysqlslap.users (user_id INT PRIMARY KEY, name VARCHAR(32))');
  await conn.query('REPLACE INTO mysqlslap.users VALUES (1, "alice"), (2, "bob")');
  await conn.end();
  const before = await proxy.series('athena_queries_total{type="select"}');
  const result = await run('mysqlslap', [
    '--host=127.0.0.1',
    `--port=${proxy.port}`,
    '--user=root',
    `--password=${server.password}`,
    '--concurrency=50',
    '--iterations=3',
    '--query=SELECT * FROM users WHERE user_id = 1',
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /ERROR|Error/);
  assert.match(result.stdout, /Average number of queries per client: 1/);
  const after = await proxy.series('athena_queries_total{type="select"}');
  assert.equal(after - before, 50 * 3, 'one SELECT per client per iteration');
});
