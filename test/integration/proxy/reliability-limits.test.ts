// Limits under load, through the real proxy: the circuit's queue full → ERR 1040, waited past
// queue_timeout_ms → ERR 1205, the per-user rate limit → ERR 1226 naming max_qps; each refused
// client connection stays usable, and the athena_rate_limit_* counters count each outcome.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';
import { metricValue } from '../../helpers/metrics.ts';

const circ = { name: 'circ', password: `pw-${randomBytes(8).toString('hex')}` };
const limited = { name: 'limited', password: `pw-${randomBytes(8).toString('hex')}`, max_qps: 2, burst: 2 };
const MAX_CONCURRENT = 2;
const QUEUE_SIZE = 3;
const QUEUE_TIMEOUT_MS = 1500;

let server: LocalServer;
let proxy: RunningProxy;

before(async () => {
  server = await startLocalServer();
  proxy = await spawnProxy({
    backend: { host: server.host, port: server.port, user: server.user, password: server.password },
    users: [circ, limited],
    circuit: {
      max_concurrent_per_user_shard: MAX_CONCURRENT,
      queue_size: QUEUE_SIZE,
      queue_timeout_ms: QUEUE_TIMEOUT_MS,
    },
  });
});

after(async () => {
  await proxy?.stop();
  await server?.stop();
});

function connect(u: { name: string; password: string }): Promise<mysql.Connection> {
  return mysql.createConnection({ host: proxy.host, port: proxy.port, user: u.name, password: u.password });
}

interface Counters {
  acquired: number;
  queueFull: number;
  timeout: number;
  qps: number;
}

async function counters(user: string): Promise<Counters> {
  const m = await proxy.metrics();
  const labels = { user, shard: 'default' };
  return {
    acquired: metricValue(m, 'athena_rate_limit_acquired_total', labels),
    queueFull: metricValue(m, 'athena_rate_limit_rejected_queue_full_total', labels),
    timeout: metricValue(m, 'athena_rate_limit_rejected_timeout_total', labels),
    qps: metricValue(m, 'athena_rate_limit_rejected_qps_total', labels),
  };
}

type Outcome = { ok: true } | { ok: false; errno: number; sqlState: string; message: string };

async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    await p;
    return { ok: true };
  } catch (error) {
    const e = error as { errno?: number; sqlState?: string; message: string };
    return { ok: false, errno: e.errno ?? -1, sqlState: e.sqlState ?? '', message: e.message };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('circuit: queue full → 1040, queue timeout → 1205, connections stay usable, metrics count each', async () => {
  const total = MAX_CONCURRENT + QUEUE_SIZE + 1;
  const conns = await Promise.all(Array.from({ length: total }, () => connect(circ)));
  try {
    // Each session takes its backend connection now, so admission is all that happens below.
    for (const c of conns) await c.query('SELECT 1');
    const before = await counters(circ.name);

    const running = conns.slice(0, MAX_CONCURRENT).map((c) => outcome(c.query('SELECT SLEEP(4)')));
    await sleep(300);
    const queued = conns
      .slice(MAX_CONCURRENT, MAX_CONCURRENT + QUEUE_SIZE)
      .map((c) => outcome(c.query('SELECT 1')));
    await sleep(200);
    const overflow = await outcome(conns[total - 1]!.query('SELECT 1'));
    const queuedOutcomes = await Promise.all(queued);
    const runningOutcomes = await Promise.all(running);

    assert.ok(!overflow.ok, 'the command past a full queue ran');
    assert.equal(overflow.errno, 1040, overflow.message);
    assert.equal(overflow.sqlState, '08004');
    for (const q of queuedOutcomes) {
      assert.ok(!q.ok, 'a queued command ran although the slots were busy longer than queue_timeout_ms');
      assert.equal(q.errno, 1205, q.message);
      assert.equal(q.sqlState, 'HY000');
    }
    for (const r of runningOutcomes) assert.deepEqual(r, { ok: true });

    // Every refused connection is still usable.
    for (const c of conns) {
      const [rows] = await c.query('SELECT 2 AS two');
      assert.deepEqual(rows, [{ two: 2 }]);
    }
    const after = await counters(circ.name);
    assert.equal(after.queueFull - before.queueFull, 1);
    assert.equal(after.timeout - before.timeout, QUEUE_SIZE);
    assert.equal(after.acquired - before.acquired, MAX_CONCURRENT + total);
    assert.equal(after.qps - before.qps, 0);
  } finally {
    await Promise.all(conns.map((c) => c.end()));
  }
});

test('rate limit: commands past max_qps get a clear ERR 1226, the connection stays usable, metrics count it', async () => {
  const conn = await connect(limited);
  try {
    await sleep(1100); // a full bucket
    const before = await counters(limited.name);
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 8; i++) outcomes.push(await outcome(conn.query('SELECT 1')));
    const refused = outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
    const passed = outcomes.length - refused.length;
    assert.ok(passed >= limited.burst, `only ${passed} of 8 passed with burst ${limited.burst}`);
    assert.ok(refused.length >= 1, 'nothing was refused at 8 back-to-back commands with max_qps 2');
    for (const r of refused) {
      assert.equal(r.errno, 1226, r.message);
      assert.match(r.message, /max_qps/);
    }
    await sleep(1100);
    const [rows] = await conn.query('SELECT 3 AS three');
    assert.deepEqual(rows, [{ three: 3 }]);
    const after = await counters(limited.name);
    assert.equal(after.qps - before.qps, refused.length);
    assert.equal(after.acquired - before.acquired, passed + 1);
  } finally {
    await conn.end();
  }
});
