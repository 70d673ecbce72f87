// What one user can take from the others, against the real proxy bundle and a throwaway MariaDB:
// sessions (by default half of pool.max_open), idle sessions that keep a backend connection
// pinned, and the memory held for large commands, shared by all sessions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { metricValue } from '../../helpers/metrics.ts';
import { backendOf, spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';
import { RawClient, comQuery, parseErrPacket, type Packet } from '../../helpers/wire.ts';

const secret = (): string => `pw-${randomBytes(8).toString('hex')}`;
const hog = { name: 'hog', password: secret() };
const other = { name: 'other', password: secret() };
const POOL_MAX_OPEN = 6;
/** What the proxy derives when server.max_user_connections is not set: half of pool.max_open. */
const USER_SESSIONS = POOL_MAX_OPEN / 2;

let server: LocalServer;
let proxy: RunningProxy;

before(async () => {
  server = await startLocalServer();
  proxy = await spawnProxy({
    backend: backendOf(server),
    users: [hog, other],
    pool: { max_open: POOL_MAX_OPEN, max_idle: POOL_MAX_OPEN },
  });
});

after(async () => {
  await proxy?.stop();
  await server?.stop();
});

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await proxy.metrics(), name, labels);
}

/** A raw client logged in as `user`: its answer to the login (OK or ERR) and the client. */
async function login(user: {
  name: string;
  password: string;
}): Promise<{ client: RawClient; answer: Packet }> {
  const client = await RawClient.connect(proxy.port);
  return { client, answer: await client.login(user.name, user.password) };
}

/** Sends a query and returns the first packet of its answer. */
async function query(client: RawClient, sql: string): Promise<Packet> {
  client.send(comQuery(sql), 0);
  return client.read();
}

/** Reads the rest of a result set: column definitions, EOF, rows, EOF (no CLIENT_DEPRECATE_EOF). */
async function drainResult(client: RawClient, first: Packet): Promise<void> {
  assert.equal(first.payload[0], 1, 'expected a result set of one column');
  let eofs = 0;
  while (eofs < 2) {
    const packet = await client.read();
    if (packet.payload[0] === 0xfe && packet.payload.length < 9) eofs++;
  }
}

describe('per-user sessions', () => {
  test('without any setting, one user holds at most half of pool.max_open sessions; another still gets in and is served', async () => {
    const held: RawClient[] = [];
    try {
      for (let i = 0; i < USER_SESSIONS; i++) {
        const { client, answer } = await login(hog);
        held.push(client);
        assert.equal(answer.payload[0], 0x00, `session ${i + 1} of ${USER_SESSIONS} was refused`);
        // Each pins a backend connection, as a busy client would.
        await drainResult(client, await query(client, 'SELECT 1'));
      }
      const { client: extra, answer } = await login(hog);
      const err = parseErrPacket(answer.payload);
      assert.equal(err?.errno, 1040, 'the hog got one more session than its share');
      assert.match(err?.message ?? '', /user 'hog' already has 3 \(.*server\.max_user_connections, = 3\)/);
      await extra.closedAt;
      assert.equal(await metric('athena_pool_active_connections', { shard: 'default' }), USER_SESSIONS);
      const { client: served, answer: ok } = await login(other);
      assert.equal(ok.payload[0], 0x00);
      await drainResult(served, await query(served, 'SELECT 1'));
      served.close();
    } finally {
      for (const c of held) c.close();
    }
  });
});

describe('server.client_idle_timeout_secs', () => {
  const IDLE_SECS = 1;
  let idleProxy: RunningProxy;
  let direct: mysql.Connection;

  before(async () => {
    idleProxy = await spawnProxy({
      backend: backendOf(server),
      users: [hog, other],
      server: { client_idle_timeout_secs: IDLE_SECS },
    });
    direct = await mysql.createConnection({
      host: server.host,
      port: server.port,
      user: server.user,
      password: server.password,
    });
    await direct.query('CREATE TABLE IF NOT EXISTS test.idle (id INT PRIMARY KEY) ENGINE=InnoDB');
  });

  after(async () => {
    await direct?.end();
    await idleProxy?.stop();
  });

  async function loginTo(user: { name: string; password: string }): Promise<RawClient> {
    const client = await RawClient.connect(idleProxy.port);
    assert.equal((await client.login(user.name, user.password)).payload[0], 0x00);
    return client;
  }

  test('a session idle inside its transaction is closed with ERR 4031, its transaction rolled back and its backend connection returned; a busy one stays', async () => {
    const idle = await loginTo(hog);
    const busy = await loginTo(other);
    assert.equal((await query(idle, 'BEGIN')).payload[0], 0x00);
    assert.equal((await query(idle, 'INSERT INTO test.idle VALUES (1)')).payload[0], 0x00);
    const lastCommandAt = Date.now();
    // The other session runs a command every 200 ms for longer than the timeout.
    while (Date.now() - lastCommandAt < 2500) {
      await drainResult(busy, await query(busy, 'SELECT 1'));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const closedAt = await Promise.race([idle.closedAt, Promise.resolve(0)]);
    assert.ok(closedAt > 0, 'the idle session is still open');
    const waited = closedAt - lastCommandAt;
    assert.ok(
      waited >= IDLE_SECS * 1000 - 50 && waited < IDLE_SECS * 1500 + 500,
      `closed after ${waited} ms`,
    );
    const err = parseErrPacket((await idle.read(1000)).payload);
    assert.equal(err?.errno, 4031);
    assert.match(err?.message ?? '', /inactivity \(server\.client_idle_timeout_secs = 1\)/);
    assert.equal(busy.closed, false);
    assert.equal(await idleProxy.series('athena_client_idle_timeouts_total'), 1);
    assert.equal(await idleProxy.series('athena_pool_active_connections{shard="default"}'), 1);
    // Rolled back, and its row lock is gone: another session inserts the same key at once.
    const [rows] = await direct.query('SELECT COUNT(*) AS n FROM test.idle');
    assert.equal(Number((rows as Array<{ n: number }>)[0]!.n), 0);
    assert.equal((await query(busy, 'INSERT INTO test.idle VALUES (1)')).payload[0], 0x00);
    busy.close();
  });
});
