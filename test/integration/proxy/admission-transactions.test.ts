// More clients than [circuit] slots, through the real proxy: sysbench oltp_read_write (server-side
// prepared statements and plain queries) and mysqlslap with transactions, at 4×, 8× and 32× a limit
// of 2 in-flight commands. A session inside a transaction must never wait behind sessions that wait
// on its row locks (commits continue every second), and a refused or queued execute must never leave
// a prepared statement without the parameter types its client believes the server has (no 1210).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import mysql from 'mysql2/promise';
import { spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';
import { metricValue, parsePrometheus } from '../../helpers/metrics.ts';
import { RawClient, parseErrPacket, type Packet } from '../../helpers/wire.ts';

const LIMIT = 2;
const CLIENT_COUNTS = [4 * LIMIT, 8 * LIMIT, 32 * LIMIT];
const SYSBENCH_SECONDS = 3;
/**
 * Half the default: a stall of admission shows as seconds without a commit well inside the run's
 * time, and a healthy queue (measured waits of 20-250 ms here at 8-64 clients) stays far below it.
 */
const QUEUE_TIMEOUT_MS = 5000;

let server: LocalServer;
let proxy: RunningProxy;
/** One slot and no queue: a second command at once is refused (ERR 1040) without waiting. */
let strictProxy: RunningProxy;

before(async () => {
  server = await startLocalServer();
  proxy = await spawnProxy({
    backend: { host: server.host, port: server.port, user: 'root', password: server.password },
    circuit: { max_concurrent_per_user_shard: LIMIT, queue_size: 200, queue_timeout_ms: QUEUE_TIMEOUT_MS },
  });
  strictProxy = await spawnProxy({
    backend: { host: server.host, port: server.port, user: 'root', password: server.password },
    circuit: { max_concurrent_per_user_shard: 1, queue_size: 0 },
  });
  const prepared = await sysbench(['prepare']);
  assert.equal(prepared.code, 0, prepared.stderr + prepared.stdout);
});

after(async () => {
  await strictProxy?.stop();
  await proxy?.stop();
  await server?.stop();
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function sysbench(args: string[]): Promise<Ran> {
  return run('sysbench', [
    'oltp_read_write',
    '--mysql-host=127.0.0.1',
    `--mysql-port=${proxy.port}`,
    '--mysql-user=root',
    `--mysql-password=${server.password}`,
    '--mysql-db=test',
    '--tables=2',
    '--table-size=1000',
    ...args,
  ]);
}

/** The admission series of root on the default shard, summed where they have buckets. */
async function admissionCounters(): Promise<{
  waits: number;
  waitCount: number;
  waitSeconds: number;
  inTransaction: number;
  refused: number;
}> {
  const samples = parsePrometheus(await proxy.metricsText());
  const labels = { user: 'root', shard: 'default' };
  return {
    waits: metricValue(samples, 'athena_rate_limit_queued_total', labels),
    waitCount: metricValue(samples, 'athena_rate_limit_queue_wait_seconds_count', labels),
    waitSeconds: metricValue(samples, 'athena_rate_limit_queue_wait_seconds_sum', labels),
    inTransaction: metricValue(samples, 'athena_rate_limit_in_transaction_total', labels),
    refused:
      metricValue(samples, 'athena_rate_limit_rejected_timeout_total', labels) +
      metricValue(samples, 'athena_rate_limit_rejected_queue_full_total', labels),
  };
}

/** TPS of each "[ 1s ] thds: 16 tps: 812.93 ..." line of sysbench --report-interval=1. */
function intervalTps(stdout: string): number[] {
  return [...stdout.matchAll(/^\[ \d+s \] thds: \d+ tps: ([\d.]+)/gm)].map((m) => Number(m[1]));
}

test('a transaction holding a row lock commits at once while more sessions than slots wait for that row', async () => {
  const connect = (): Promise<mysql.Connection> =>
    mysql.createConnection({
      host: '127.0.0.1',
      port: proxy.port,
      user: 'root',
      password: server.password,
      database: 'test',
    });
  const [owner, ...waiters] = await Promise.all(Array.from({ length: LIMIT + 2 }, connect));
  try {
    await owner!.query('CREATE TABLE IF NOT EXISTS admission_rows (id INT PRIMARY KEY, n INT)');
    await owner!.query('REPLACE INTO admission_rows VALUES (1, 0)');
    await owner!.query('BEGIN');
    await owner!.query('UPDATE admission_rows SET n = n + 1 WHERE id = 1');
    // More sessions than slots, each wanting the locked row: the owner's slot is its own.
    const updates = waiters.map((c) => c.query('UPDATE admission_rows SET n = n + 1 WHERE id = 1'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await owner!.query('COMMIT');
    const commitMs = Date.now() - started;
    await Promise.all(updates);
    assert.ok(
      commitMs < 1000,
      `COMMIT took ${commitMs} ms: it waited behind the sessions waiting for its row`,
    );
    const [rows] = await owner!.query('SELECT n FROM admission_rows WHERE id = 1');
    assert.deepEqual(rows, [{ n: 1 + waiters.length }]);
  } finally {
    await Promise.all([owner, ...waiters].map((c) => c!.end()));
  }
});

for (const psMode of ['auto', 'disable']) {
  for (const threads of CLIENT_COUNTS) {
    test(`sysbench oltp_read_write --db-ps-mode=${psMode}, ${threads} threads over ${LIMIT} slots: commits every second, no 1210`, async (t) => {
      const before = await admissionCounters();
      const result = await sysbench([
        `--threads=${threads}`,
        `--time=${SYSBENCH_SECONDS}`,
        '--report-interval=1',
        `--db-ps-mode=${psMode}`,
        'run',
      ]);
      const output = result.stdout + result.stderr;
      const tps = intervalTps(result.stdout);
      const after = await admissionCounters();
      const ignored = /ignored errors:\s+(\d+)/.exec(result.stdout)?.[1] ?? '?';
      t.diagnostic(
        `tps per second: ${tps.join(', ')}; ignored errors: ${ignored}; queued: ${after.waits - before.waits}, ` +
          `mean wait ${(((after.waitSeconds - before.waitSeconds) / Math.max(1, after.waitCount - before.waitCount)) * 1000).toFixed(1)} ms; ` +
          `on a held slot: ${after.inTransaction - before.inTransaction}`,
      );
      assert.doesNotMatch(output, /error 1210|Incorrect arguments/, output);
      assert.doesNotMatch(output, /FATAL/, output);
      assert.equal(result.code, 0, output);
      assert.ok(tps.length >= SYSBENCH_SECONDS - 1, `interval reports: ${tps.join(', ')}\n${output}`);
      assert.ok(
        tps.every((t) => t > 0),
        `a second without a commit: ${tps.join(', ')} tps`,
      );
      assert.ok(after.waits > before.waits, 'no command waited for a slot: the limit was not exercised');
      assert.ok(after.waitCount > before.waitCount, 'the queue-wait histogram observed nothing');
      assert.ok(
        after.inTransaction > before.inTransaction,
        'no command ran on a slot kept for its transaction',
      );
      assert.equal(after.refused - before.refused, 0, 'commands were refused by the circuit');
    });
  }
}

for (const clients of CLIENT_COUNTS) {
  test(`mysqlslap mixed load with transactions (--commit=5), ${clients} clients over ${LIMIT} slots`, async () => {
    const before = await admissionCounters();
    const result = await run('mysqlslap', [
      '--host=127.0.0.1',
      `--port=${proxy.port}`,
      '--user=root',
      `--password=${server.password}`,
      `--concurrency=${clients}`,
      '--iterations=1',
      '--auto-generate-sql',
      '--auto-generate-sql-load-type=mixed',
      '--auto-generate-sql-add-autoincrement',
      '--commit=5',
      `--number-of-queries=${clients * 40}`,
    ]);
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 0, output);
    assert.doesNotMatch(result.stderr, /ERROR|Error/, output);
    assert.match(result.stdout, new RegExp(`Number of clients running queries: ${clients}`), output);
    const after = await admissionCounters();
    assert.ok(after.waits > before.waits, 'no command waited for a slot: the limit was not exercised');
    assert.equal(after.refused - before.refused, 0, 'commands were refused by the circuit');
  });
}

/** The packets of one response: up to OK or ERR, or a result set's second EOF (no DEPRECATE_EOF). */
async function readResponse(client: RawClient): Promise<Packet[]> {
  const first = await client.read();
  if (first.payload[0] === 0x00 || first.payload[0] === 0xff) return [first];
  const packets = [first];
  let eofs = 0;
  while (eofs < 2) {
    const next = await client.read();
    packets.push(next);
    if (next.payload[0] === 0xfe && next.payload.length < 9) eofs++;
  }
  return packets;
}

/** COM_STMT_EXECUTE of a one-parameter statement with a BIGINT value, with or without its type. */
function executeWithBigint(statementId: number, value: number, sendTypes: boolean): Buffer {
  const head = Buffer.alloc(10);
  head[0] = 0x17;
  head.writeUInt32LE(statementId, 1);
  head.writeUInt32LE(1, 6); // flags 0 (no cursor), iteration count 1
  const bound = sendTypes ? Buffer.from([0x00, 0x01, 0x08, 0x00]) : Buffer.from([0x00, 0x00]);
  const param = Buffer.alloc(8);
  param.writeBigInt64LE(BigInt(value));
  return Buffer.concat([head, bound, param]);
}

test('an execute that carried the parameter types and was refused: the next execute without types still runs', async () => {
  const client = await RawClient.connect(strictProxy.port);
  const holder = await mysql.createConnection({
    host: '127.0.0.1',
    port: strictProxy.port,
    user: 'root',
    password: server.password,
  });
  try {
    assert.equal((await client.login('root', server.password)).payload[0], 0x00);
    client.send(Buffer.concat([Buffer.from([0x16]), Buffer.from('SELECT CAST(? AS CHAR) AS v')]), 0);
    const prepareOk = (await client.read()).payload;
    assert.equal(prepareOk[0], 0x00, 'PREPARE failed');
    const statementId = prepareOk.readUInt32LE(1);
    for (let i = 0; i < 4; i++) await client.read(); // 1 parameter + EOF, 1 column + EOF

    const sleeping = holder.query('SELECT SLEEP(1)'); // takes the only slot
    await new Promise((resolve) => setTimeout(resolve, 200));
    client.send(executeWithBigint(statementId, 41, true), 0);
    const refused = parseErrPacket((await client.read()).payload);
    assert.equal(refused?.errno, 1040, 'the execute was not refused: the slot was free');
    await sleeping;

    // As libmysqlclient does: the types went out once, so this execute does not send them again.
    client.send(executeWithBigint(statementId, 42, false), 0);
    const response = await readResponse(client);
    const error = parseErrPacket(response[0]!.payload);
    assert.equal(error, null, `execute failed: ${error?.errno} ${error?.message}`);
    const row = response[response.length - 2]!.payload; // binary row: 0x00, null bitmap, "42"
    assert.equal(row.subarray(row.length - 3).toString('latin1'), '\x0242');
    assert.ok((await strictProxy.series('athena_prepared_param_types_resent_total')) >= 1);
  } finally {
    client.close();
    await holder.end();
  }
});
