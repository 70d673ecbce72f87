// Athena when things go wrong: the backend is down and comes back, the client cap, a client that
// never authenticates, the circuit's queue overflowing, and SIGTERM with a query in flight.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { findFreePort } from '../../../src/util/net.ts';
import { spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';

let server: LocalServer | undefined;
const proxies: RunningProxy[] = [];
const password = 'resilience-pass';

after(async () => {
  for (const p of proxies) await p.stop();
  await server?.stop();
});

async function health(proxy: RunningProxy): Promise<number> {
  return (await fetch(`http://127.0.0.1:${proxy.metricsPort}/health`)).status;
}

function connect(proxy: RunningProxy, options: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', password, ...options });
}

test('backend down: a clean 2003 error, the proxy stays up, and recovers when the backend comes back', async () => {
  const backendPort = await findFreePort();
  const proxy = await spawnProxy({
    backend: { host: '127.0.0.1', port: backendPort, user: 'root', password },
    server: { backend_connect_timeout_ms: 2000 },
  });
  proxies.push(proxy);
  assert.equal(await health(proxy), 503);
  const conn = await connect(proxy); // the handshake is Athena's own: it succeeds
  await assert.rejects(conn.query('SELECT 1'), (e: { errno?: number; message: string }) => {
    assert.equal(e.errno, 2003);
    assert.match(e.message, new RegExp(`Can't connect to MySQL server on '127\\.0\\.0\\.1:${backendPort}'`));
    return true;
  });
  // The same client session retries once the server is there.
  server = await startLocalServer({ port: backendPort, password });
  const [rows] = await conn.query('SELECT 7 AS seven');
  assert.deepEqual(rows, [{ seven: 7 }]);
  await conn.end();
  const deadline = Date.now() + 10_000;
  while ((await health(proxy)) !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(await health(proxy), 200);
});

test('server.max_connections: the next client gets ERR 1040; a silent client is dropped after handshake_timeout_ms', async () => {
  assert.ok(server, 'needs the backend from the previous test');
  const proxy = await spawnProxy({
    backend: { host: '127.0.0.1', port: server.port, user: 'root', password },
    users: [{ name: 'root', password }],
    server: { max_connections: 2, handshake_timeout_ms: 500 },
  });
  proxies.push(proxy);
  const a = await connect(proxy);
  const b = await connect(proxy);
  await assert.rejects(connect(proxy), (e: { errno?: number }) => e.errno === 1040);
  await a.end();
  await new Promise((r) => setTimeout(r, 100));
  // A raw TCP client that reads the handshake and never answers is closed by the proxy.
  const closedAfter = await new Promise<number>((resolve) => {
    const started = Date.now();
    const socket = net.connect(proxy.port, '127.0.0.1');
    socket.on('data', () => undefined);
    socket.on('close', () => resolve(Date.now() - started));
    socket.on('error', () => undefined);
  });
  assert.ok(closedAfter >= 400 && closedAfter < 5000, `closed after ${closedAfter} ms`);
  await b.end();
});

test('circuit: queue full is ERR 1040, waiting too long is ERR 1205; the session stays usable', async () => {
  assert.ok(server);
  const proxy = await spawnProxy({
    backend: { host: '127.0.0.1', port: server.port, user: 'root', password },
    users: [{ name: 'root', password }],
    circuit: { max_concurrent_per_user_shard: 1, queue_size: 1, queue_timeout_ms: 300 },
  });
  proxies.push(proxy);
  const [slow, waiting, rejected] = await Promise.all([connect(proxy), connect(proxy), connect(proxy)]);
  // One at a time: concurrently they could overflow the queue of 1 themselves.
  for (const conn of [slow, waiting, rejected]) await conn.query('SELECT 1');
  const sleeping = slow.query('SELECT SLEEP(2)');
  await new Promise((r) => setTimeout(r, 400));
  const queued = waiting.query('SELECT 2');
  await new Promise((r) => setTimeout(r, 50));
  await assert.rejects(
    rejected.query('SELECT 3'),
    (e: { errno?: number; sqlState?: string }) => e.errno === 1040 && e.sqlState === '08004',
  );
  await assert.rejects(queued, (e: { errno?: number }) => e.errno === 1205);
  await sleeping;
  const [rows] = await rejected.query('SELECT 4 AS four');
  assert.deepEqual(rows, [{ four: 4 }]);
  const [rows2] = await waiting.query('SELECT 5 AS five');
  assert.deepEqual(rows2, [{ five: 5 }]);
  const text = await proxy.metricsText();
  assert.match(text, /athena_rate_limit_rejected_queue_full_total\{user="root",shard="default"\} 1/);
  assert.match(text, /athena_rate_limit_rejected_timeout_total\{user="root",shard="default"\} 1/);
  await Promise.all([slow.end(), waiting.end(), rejected.end()]);
});

test('SIGTERM: the query in flight completes, then the proxy exits 0', async () => {
  assert.ok(server);
  const proxy = await spawnProxy({
    backend: { host: '127.0.0.1', port: server.port, user: 'root', password },
    users: [{ name: 'root', password }],
    server: { shutdown_grace_ms: 5000 },
  });
  const conn = await connect(proxy);
  await conn.query('SELECT 1');
  const inFlight = conn.query('SELECT SLEEP(0.8) AS slept');
  await new Promise((r) => setTimeout(r, 200));
  const stopped = proxy.stop();
  const [rows] = await inFlight;
  assert.deepEqual(rows, [{ slept: 0 }]);
  assert.equal((await stopped).code, 0);
  assert.match(proxy.log(), /SIGTERM: draining/);
  conn.destroy();
  // No longer accepting.
  await assert.rejects(connect(proxy));
});
