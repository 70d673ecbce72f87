// The connection phase's time limits on the real bundle: server.handshake_timeout_ms bounds only the
// client's part of the handshake; fetching a backend connection at login (to check the database the
// client named) has its own bound and ends in an ERR, never a silent close.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';
import { RawClient, parseErrPacket } from '../../helpers/wire.ts';

/** A TCP relay to the backend that holds every backend->proxy chunk for `delayMs` (0 = pass through). */
class SlowRelay {
  delayMs = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly server = net.createServer((client) => {
    const backend = net.connect(this.target.port, this.target.host);
    this.sockets.add(client).add(backend);
    client.pipe(backend);
    backend.on('data', (chunk: Buffer) => {
      if (this.delayMs === 0) client.write(chunk);
      else setTimeout(() => client.write(chunk), this.delayMs);
    });
    const end = (): void => {
      client.destroy();
      backend.destroy();
      this.sockets.delete(client);
      this.sockets.delete(backend);
    };
    client.on('error', end).on('close', end);
    backend.on('error', end).on('close', () => setTimeout(end, this.delayMs));
  });

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const HANDSHAKE_TIMEOUT_MS = 400;
const CONNECT_TIMEOUT_MS = 2500;

let server: LocalServer;
let relay: SlowRelay;
let proxy: RunningProxy;

before(async () => {
  server = await startLocalServer();
  relay = new SlowRelay(server);
  const relayPort = await relay.start();
  proxy = await spawnProxy({
    backend: { host: '127.0.0.1', port: relayPort, user: 'root', password: server.password },
    users: [{ name: 'app', password: 'app-pass' }],
    server: { handshake_timeout_ms: HANDSHAKE_TIMEOUT_MS, backend_connect_timeout_ms: CONNECT_TIMEOUT_MS },
  });
});

after(async () => {
  await proxy?.stop();
  await relay?.close();
  await server?.stop();
});

test('a backend slower than handshake_timeout_ms (but within its own bound) still logs the client in', async () => {
  relay.delayMs = HANDSHAKE_TIMEOUT_MS * 2;
  try {
    const client = await RawClient.connect(proxy.port);
    await client.sendLogin('app', 'app-pass', 'mysql');
    const answer = await client.read(CONNECT_TIMEOUT_MS * 4);
    client.close();
    assert.equal(
      answer.payload[0],
      0x00,
      `expected OK, got ${JSON.stringify(parseErrPacket(answer.payload))}`,
    );
  } finally {
    relay.delayMs = 0;
  }
});

test('a backend slower than backend_connect_timeout_ms: the login ends in an ERR 2003, not a silent close', async () => {
  relay.delayMs = CONNECT_TIMEOUT_MS * 2;
  try {
    const client = await RawClient.connect(proxy.port);
    await client.sendLogin('app', 'app-pass', 'information_schema');
    const answer = await client.read(CONNECT_TIMEOUT_MS * 4);
    client.close();
    const err = parseErrPacket(answer.payload);
    assert.ok(err, `expected ERR, got ${answer.payload.toString('hex')}`);
    assert.equal(err.errno, 2003, err.message);
  } finally {
    relay.delayMs = 0;
  }
});

test('a client that does not answer the greeting gets ERR 1159 (08S01) before the close', async () => {
  const client = await RawClient.connect(proxy.port);
  await client.handshake();
  const answer = await client.read(HANDSHAKE_TIMEOUT_MS * 10);
  const err = parseErrPacket(answer.payload);
  assert.ok(err, `expected ERR, got ${answer.payload.toString('hex')}`);
  assert.equal(err.errno, 1159);
  assert.equal(err.sqlState, '08S01');
  await assert.rejects(client.read(HANDSHAKE_TIMEOUT_MS * 10), /closed/);
  client.close();
});

test('an unknown database named in the handshake is refused with 1049', async () => {
  const client = await RawClient.connect(proxy.port);
  const err = parseErrPacket((await client.login('app', 'app-pass', 'no_such_db_athena')).payload);
  client.close();
  assert.equal(err?.errno, 1049, JSON.stringify(err));
  assert.equal(err?.sqlState, '42000');
});

test('a refused login is logged with the user and the reason, never the password', async () => {
  const wrong = 'wrong-password-athena-test';
  const client = await RawClient.connect(proxy.port);
  const err = parseErrPacket((await client.login('app', wrong)).payload);
  client.close();
  assert.equal(err?.errno, 1045);
  const deadline = Date.now() + 5000;
  while (!/login refused for user 'app' .*wrong password/.test(proxy.log()) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.match(proxy.log(), /login refused for user 'app' .*wrong password/);
  assert.ok(!proxy.log().includes(wrong));
  assert.ok(!proxy.log().includes('app-pass'));
});
