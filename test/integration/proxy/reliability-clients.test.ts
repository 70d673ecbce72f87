// Slow, idle and many clients against the real proxy bundle and a throwaway MariaDB:
// - a client that stops mid-handshake is dropped after server.handshake_timeout_ms;
// - an authenticated client that sends nothing holds no backend connection (proxy/README.md,
//   "Session pinning": a session takes a backend connection at its first command that needs the
//   server), and gives its connection back when it leaves;
// - 1,000 concurrent clients are accepted and served, with the proxy's RSS bounded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { openFileLimit, spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';
import { metricValue } from '../../helpers/metrics.ts';
import { RawClient, handshakeResponse, nativeToken } from '../../helpers/wire.ts';

const HANDSHAKE_TIMEOUT_MS = 800;
const CLIENTS = 1000;
const RSS_LIMIT_MB = 150; // proxy/README.md's target with 1,000 idle clients connected
const user = { name: 'app', password: `pw-${randomBytes(8).toString('hex')}` };

let server: LocalServer;
let proxy: RunningProxy;

before(async () => {
  server = await startLocalServer();
  proxy = await spawnProxy({
    backend: server,
    users: [user],
    server: { handshake_timeout_ms: HANDSHAKE_TIMEOUT_MS },
    pool: { max_idle: 5 },
  });
});

after(async () => {
  await proxy?.stop();
  await server?.stop();
});

function connect(through: RunningProxy = proxy): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: through.host,
    port: through.port,
    user: user.name,
    password: user.password,
    connectTimeout: 20_000,
  });
}

async function poolGauges(
  of: RunningProxy = proxy,
): Promise<{ active: number; idle: number; clients: number }> {
  const m = await of.metrics();
  return {
    active: metricValue(m, 'athena_pool_active_connections', { shard: 'default' }),
    idle: metricValue(m, 'athena_pool_idle_connections', { shard: 'default' }),
    clients: metricValue(m, 'athena_connections_active'),
  };
}

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

describe('slow clients', () => {
  test('a client that sends nothing after the greeting is dropped after handshake_timeout_ms', async () => {
    const client = await RawClient.connect(proxy.port);
    const started = Date.now();
    await client.handshake();
    const closedAt = await Promise.race([
      client.closedAt,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error('not dropped in 10 s')), 10_000)),
    ]);
    const waited = closedAt - started;
    assert.ok(waited >= HANDSHAKE_TIMEOUT_MS - 100, `dropped too early, after ${waited} ms`);
    assert.ok(waited < HANDSHAKE_TIMEOUT_MS + 5000, `dropped only after ${waited} ms`);
    await proxy.waitForLog(/did not authenticate within 800 ms/, 2000);
  });

  test('a client that stops in the middle of its handshake response is dropped too', async () => {
    const client = await RawClient.connect(proxy.port);
    const greeting = await client.handshake();
    const response = handshakeResponse({
      user: user.name,
      token: nativeToken(user.password, greeting.scramble),
    });
    // Header announces the full length; only part of the payload is sent.
    const header = Buffer.from([response.length & 0xff, (response.length >> 8) & 0xff, 0, 1]);
    client.write(Buffer.concat([header, response.subarray(0, 10)]));
    const started = Date.now();
    await Promise.race([
      client.closedAt,
      new Promise((_, reject) => setTimeout(() => reject(new Error('not dropped in 10 s')), 10_000)),
    ]);
    assert.ok(Date.now() - started < HANDSHAKE_TIMEOUT_MS + 5000);
  });

  test('an authenticated client idle for longer than the handshake timeout is not dropped', async () => {
    const conn = await connect();
    try {
      await new Promise((resolve) => setTimeout(resolve, HANDSHAKE_TIMEOUT_MS * 2));
      const [rows] = await conn.query('SELECT 1 AS one');
      assert.deepEqual(rows, [{ one: 1 }]);
    } finally {
      await conn.end();
    }
  });
});

describe('idle clients', () => {
  test('authenticated clients that send nothing hold no backend connection; leaving gives it back', async () => {
    const before = await eventually(poolGauges, (g) => g.active === 0 && g.clients === 0);
    assert.equal(before.active, 0, 'no session, yet backend connections are in use');
    const conns = await Promise.all(Array.from({ length: 20 }, () => connect()));
    try {
      const idle = await poolGauges();
      assert.equal(idle.clients, 20);
      assert.equal(idle.active, 0, `20 idle clients hold ${idle.active} backend connections`);

      // At their first command each session takes (and keeps, for its life) one connection.
      const ids = await Promise.all(
        conns.map(async (c) => {
          const [rows] = await c.query('SELECT CONNECTION_ID() AS id');
          return (rows as Array<{ id: number }>)[0]!.id;
        }),
      );
      assert.equal(new Set(ids).size, 20, 'two live sessions shared one backend connection');
      assert.equal((await poolGauges()).active, 20);
    } finally {
      await Promise.all(conns.map((c) => c.end()));
    }
    const released = await eventually(poolGauges, (g) => g.active === 0 && g.clients === 0);
    assert.equal(released.active, 0, 'connections of clients that left are still counted active');
    assert.ok(released.idle <= 5, `pool.max_idle is 5 but ${released.idle} connections stay idle`);
  });
});

describe('many clients', () => {
  test(`${CLIENTS} concurrent clients are accepted and served with bounded RSS`, async (t) => {
    // Each client costs the test one descriptor, and the proxy two (client + backend).
    const needed = CLIENTS + 200;
    const ours = openFileLimit('self');
    const theirs = openFileLimit(proxy.pid);
    if ((ours !== null && ours < needed) || (theirs !== null && theirs < 2 * needed)) {
      t.skip(
        `open-file limit too low (test ${ours}, proxy ${theirs}; need ${needed} and ${2 * needed}): run \`ulimit -n 65535\` first`,
      );
      return;
    }
    // Its own proxy: a handshake under this load may take longer than the short timeout above.
    const big = await spawnProxy({
      backend: server,
      // One user holds them all: no per-user limit.
      users: [{ ...user, max_connections: 0 }],
      pool: { max_open: CLIENTS + 50 },
      // Let all of them run at once: the circuit's own limits are tested in reliability-limits.
      circuit: { max_concurrent_per_user_shard: CLIENTS, queue_size: CLIENTS },
    });
    const rssBefore = big.rssBytes();
    const started = Date.now();
    const conns: mysql.Connection[] = [];
    try {
      // Connect in batches so the kernel's accept backlog is not what is tested.
      for (let i = 0; i < CLIENTS; i += 100) {
        conns.push(...(await Promise.all(Array.from({ length: 100 }, () => connect(big)))));
      }
      t.diagnostic(`${CLIENTS} clients connected in ${Date.now() - started} ms`);
      assert.equal((await poolGauges(big)).clients, CLIENTS);
      const ids = await Promise.all(
        conns.map(async (c) => {
          const [rows] = await c.query('SELECT CONNECTION_ID() AS id');
          return (rows as Array<{ id: number }>)[0]!.id;
        }),
      );
      assert.equal(new Set(ids).size, CLIENTS, 'every client got its own backend session');
      t.diagnostic(`and served in ${Date.now() - started} ms`);
      const rssHeld = big.rssBytes();
      t.diagnostic(
        `proxy RSS ${(rssBefore / 2 ** 20).toFixed(1)} MB before, ${(rssHeld / 2 ** 20).toFixed(1)} MB with ${CLIENTS} clients`,
      );
      assert.ok(
        rssHeld < RSS_LIMIT_MB * 2 ** 20,
        `proxy RSS ${(rssHeld / 2 ** 20).toFixed(1)} MB with ${CLIENTS} clients (limit ${RSS_LIMIT_MB} MB)`,
      );
    } finally {
      await Promise.all(conns.map((c) => c.end().catch(() => undefined)));
    }
    try {
      const after = await eventually(
        () => poolGauges(big),
        (g) => g.clients === 0 && g.active === 0,
        20_000,
      );
      assert.equal(after.clients, 0);
      assert.equal(after.active, 0);
      assert.ok(big.alive());
    } finally {
      await big.stop();
    }
  });
});
