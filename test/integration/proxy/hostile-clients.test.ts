// What a stranger, or one authenticated user, can make the proxy hold: commands past
// server.max_allowed_packet, big packets before login, sockets held open mid-handshake from one
// address, forged log lines through user names, password guessing. Each case runs against the real
// bundle and MariaDB while a well-behaved client from another address must keep being served.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { metricValue } from '../../helpers/metrics.ts';
import { backendOf, spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';
import { RawClient, handshakeResponse, header, nativeToken, parseErrPacket } from '../../helpers/wire.ts';

const app = { name: 'app', password: `pw-${randomBytes(8).toString('hex')}` };
const MiB = 1024 * 1024;
const MAX_ALLOWED_PACKET = 20 * MiB;
const MAX_HANDSHAKE_PACKET = 4096;
const HANDSHAKES_PER_IP = 20;
const MAX_CONNECTIONS = 40;
const LOGIN_FAILURES = 3;

let server: LocalServer;
let proxy: RunningProxy;

before(async () => {
  server = await startLocalServer();
  proxy = await spawnProxy({
    backend: backendOf(server),
    users: [app],
    server: {
      max_connections: MAX_CONNECTIONS,
      max_allowed_packet: MAX_ALLOWED_PACKET,
      max_handshake_packet: MAX_HANDSHAKE_PACKET,
      max_handshakes_per_ip: HANDSHAKES_PER_IP,
      max_login_failures_per_ip: LOGIN_FAILURES,
    },
  });
});

after(async () => {
  await proxy?.stop();
  await server?.stop();
});

/** A well-behaved client on 127.0.0.1 runs one query through the proxy. */
async function legitQuery(): Promise<void> {
  const conn = await mysql.createConnection({
    host: proxy.host,
    port: proxy.port,
    user: app.name,
    password: app.password,
  });
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT 6 * 7 AS answer');
    assert.equal(rows[0]?.answer, 42);
  } finally {
    await conn.end();
  }
}

/** Writes `total` bytes of `fill` after `head`, honouring backpressure, until done or the socket closes. */
async function stream(socket: net.Socket, head: Buffer, total: number): Promise<number> {
  const piece = Buffer.alloc(256 * 1024, 0x61);
  let sent = 0;
  if (!socket.write(head)) await new Promise((resolve) => socket.once('drain', resolve));
  while (sent < total && !socket.destroyed && socket.writable) {
    const n = Math.min(piece.length, total - sent);
    sent += n;
    if (!socket.write(piece.subarray(0, n))) {
      await new Promise((resolve) => {
        socket.once('drain', resolve);
        socket.once('close', resolve);
      });
    }
  }
  return sent;
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await proxy.metrics(), name, labels);
}

test('a command streamed past server.max_allowed_packet (3 x 16 MiB) gets ERR 1153 and memory stays bounded', async (t) => {
  const client = await RawClient.connect(proxy.port);
  const ok = await client.login(app.name, app.password);
  assert.equal(ok.payload[0], 0x00);
  const rssBefore = proxy.rssBytes();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, proxy.rssBytes())), 10);
  const served = legitQuery();
  // Three 16 MiB - 1 packets: one command of 48 MiB, continued twice; the cap is 20 MiB.
  for (let seq = 0; seq < 3 && !client.closed; seq++) {
    await stream(client.socket, header(0xffffff, seq), 0xffffff);
  }
  await client.closedAt;
  clearInterval(sampler);
  await served;
  const err = parseErrPacket((await client.read(1000)).payload);
  assert.equal(err?.errno, 1153);
  assert.match(err?.message ?? '', /server\.max_allowed_packet = 20971520/);
  // Holding the first 16 MiB packet (under the cap) is allowed; holding all the client sent (48 MiB,
  // plus a copy to join the packets) is what happened without the cap.
  const grown = rssPeak - rssBefore;
  t.diagnostic(`proxy RSS ${(rssBefore / MiB).toFixed(1)} MiB -> peak ${(rssPeak / MiB).toFixed(1)} MiB`);
  assert.ok(
    grown < 3 * 16 * MiB,
    `proxy RSS grew by ${(grown / MiB).toFixed(1)} MiB, as much as the client sent`,
  );
  assert.equal(await metric('athena_packets_too_large_total', { phase: 'command' }), 1);
  await legitQuery();
});

test('a packet over server.max_handshake_packet before login gets ERR 1153 at once, not after its bytes', async () => {
  const client = await RawClient.connect(proxy.port);
  await client.handshake();
  client.write(Buffer.concat([header(MiB, 1), Buffer.alloc(100)]));
  const err = parseErrPacket((await client.read(3000)).payload);
  assert.equal(err?.errno, 1153);
  assert.match(err?.message ?? '', /server\.max_handshake_packet = 4096/);
  await client.closedAt;
  assert.equal(await metric('athena_packets_too_large_total', { phase: 'handshake' }), 1);
});

test('one address holding sockets mid-handshake cannot lock another out', async () => {
  const attempts = MAX_CONNECTIONS + HANDSHAKES_PER_IP;
  const held = await Promise.all(
    Array.from({ length: attempts }, () => RawClient.connect(proxy.port, '127.0.0.1', '127.0.0.2')),
  );
  try {
    const first = await Promise.all(held.map((c) => c.read(5000)));
    const greeted = first.filter((p) => p.payload[0] === 10).length;
    const refused = first.map((p) => parseErrPacket(p.payload)).filter((e) => e !== null);
    assert.equal(greeted, HANDSHAKES_PER_IP);
    assert.equal(refused.length, attempts - HANDSHAKES_PER_IP);
    for (const e of refused) {
      assert.equal(e.errno, 1040);
      assert.match(e.message, /127\.0\.0\.2 still logging in \(server\.max_handshakes_per_ip = 20\)/);
    }
    await legitQuery();
    assert.equal(await metric('athena_connections_unauthenticated'), HANDSHAKES_PER_IP);
    assert.equal(
      await metric('athena_connections_refused_total', { reason: 'handshakes_per_ip' }),
      attempts - HANDSHAKES_PER_IP,
    );
    await proxy.waitForLog(/refused a connection from 127\.0\.0\.2: Too many connections/, 1000);
  } finally {
    for (const c of held) c.close();
  }
});

test('user names cannot forge log lines or send terminal escapes', async () => {
  const forged = 'evil\n2030-01-01T00:00:00.000Z athena: FORGED\u001b[2J';
  const client = await RawClient.connect(proxy.port);
  const err = parseErrPacket((await client.login(forged, 'x')).payload);
  assert.equal(err?.errno, 1045);
  const line = await proxy.waitForLog(/login refused for user 'evil/, 3000);
  assert.ok(line.includes("'evil\\n2030-01-01T00:00:00.000Z athena: FORGED\\u001b[2J'"), line);
  assert.doesNotMatch(proxy.log(), /^2030-01-01T00:00:00.000Z athena: FORGED/m);
  assert.ok(!proxy.log().includes('\u001b'), 'no escape character reached the log');
});

test('an address is refused after repeated failed logins; others are not', async () => {
  const from = '127.0.0.3';
  const loginFailuresBefore = await metric('athena_login_failures_total');
  for (let i = 0; i < LOGIN_FAILURES; i++) {
    const client = await RawClient.connect(proxy.port, '127.0.0.1', from);
    const err = parseErrPacket((await client.login(app.name, 'wrong password')).payload);
    assert.equal(err?.errno, 1045);
    client.close();
  }
  const blocked = await RawClient.connect(proxy.port, '127.0.0.1', from);
  const first = await blocked.read(3000);
  const err = parseErrPacket(first.payload);
  assert.equal(err?.errno, 1129, 'refused before the handshake, even with the right password to come');
  assert.match(err?.message ?? '', /blocked after 3 failed logins; retry in \d+ s/);
  blocked.close();
  assert.equal(await metric('athena_connections_refused_total', { reason: 'login_throttled' }), 1);
  assert.equal(await metric('athena_login_failures_total'), loginFailuresBefore + LOGIN_FAILURES);
  await legitQuery();
});

test('a legitimate raw login still works end to end (the test client is sound)', async () => {
  const client = await RawClient.connect(proxy.port);
  const greeting = await client.handshake();
  client.send(handshakeResponse({ user: app.name, token: nativeToken(app.password, greeting.scramble) }), 1);
  assert.equal((await client.read()).payload[0], 0x00);
  client.close();
});
