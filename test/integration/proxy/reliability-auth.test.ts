// Authentication and connection caps of the real proxy bundle, driven by a raw protocol client so the
// test can misbehave: every refused login is ERR 1045 (28000), no password reaches the proxy's log,
// no command is forwarded before authentication succeeds, and the connection caps answer ERR 1040.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';
import { metricValue } from '../../helpers/metrics.ts';
import {
  RawClient,
  comQuery,
  frame,
  handshakeResponse,
  nativeToken,
  parseErrPacket,
  type ErrPacket,
} from '../../helpers/wire.ts';

const secret = (label: string): string => `${label}-${randomBytes(9).toString('hex')}`;
const app = { name: 'app', password: secret('apppw') };
const capped = { name: 'capped', password: secret('cappedpw'), max_connections: 2 };
const free = { name: 'free', password: secret('freepw') };
const TOTAL_CAP = 6;
/** Every password a client typed in this file, right or wrong: none may appear in the proxy's log. */
const typedSecrets: string[] = [app.password, capped.password, free.password];

let server: LocalServer;
let proxy: RunningProxy;
let direct: mysql.Connection;

before(async () => {
  server = await startLocalServer();
  direct = await mysql.createConnection({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
  });
  await direct.query('CREATE TABLE IF NOT EXISTS test.preauth (id INT PRIMARY KEY)');
  proxy = await spawnProxy({
    backend: server,
    users: [app, capped, free],
    server: { max_connections: TOTAL_CAP },
  });
});

after(async () => {
  await direct?.end();
  await proxy?.stop();
  await server?.stop();
});

async function expectErr(client: RawClient, what: string): Promise<ErrPacket> {
  const packet = await client.read(5000);
  const err = parseErrPacket(packet.payload);
  assert.ok(err, `${what}: expected an ERR packet, got 0x${packet.payload[0]?.toString(16)}`);
  return err;
}

async function expectDenied(client: RawClient, what: string): Promise<ErrPacket> {
  const err = await expectErr(client, what);
  assert.equal(err.errno, 1045, `${what}: ${err.errno} ${err.message}`);
  assert.equal(err.sqlState, '28000', what);
  await client.closedAt; // the proxy hangs up after refusing
  return err;
}

async function preauthRows(): Promise<number> {
  const [rows] = await direct.query('SELECT COUNT(*) AS n FROM test.preauth');
  return Number((rows as Array<{ n: number }>)[0]!.n);
}

describe('refused logins are ERR 1045', () => {
  test('the right password is accepted (so the refusals below are not a broken client)', async () => {
    const client = await RawClient.connect(proxy.port);
    const answer = await client.login(app.name, app.password);
    assert.equal(answer.payload[0], 0x00, 'expected OK');
    client.close();
  });

  test('wrong password', async () => {
    const wrong = secret('wrongpw');
    typedSecrets.push(wrong);
    const client = await RawClient.connect(proxy.port);
    await client.sendLogin(app.name, wrong);
    const err = await expectDenied(client, 'wrong password');
    assert.match(err.message, /Access denied for user 'app'/);
    assert.match(err.message, /using password: YES/);
  });

  test('unknown user', async () => {
    const client = await RawClient.connect(proxy.port);
    const pw = secret('nobodypw');
    typedSecrets.push(pw);
    await client.sendLogin('nobody', pw);
    await expectDenied(client, 'unknown user');
  });

  test('empty password for a user that has one', async () => {
    const client = await RawClient.connect(proxy.port);
    await client.sendLogin(app.name, '');
    const err = await expectDenied(client, 'empty password');
    assert.match(err.message, /using password: NO/);
  });

  test('a scramble answer replayed from another connection', async () => {
    const first = await RawClient.connect(proxy.port);
    const second = await RawClient.connect(proxy.port);
    const greeting1 = await first.handshake();
    const greeting2 = await second.handshake();
    assert.notDeepEqual(greeting1.scramble, greeting2.scramble, 'two connections got the same scramble');
    // What an eavesdropper saw on the first connection, replayed on the second.
    const captured = nativeToken(app.password, greeting1.scramble);
    second.send(handshakeResponse({ user: app.name, token: captured }), 1);
    await expectDenied(second, 'replayed scramble');
    first.close();
  });

  test('a client that insists on a plugin the proxy does not offer (cleartext)', async () => {
    const client = await RawClient.connect(proxy.port);
    await client.handshake();
    const cleartext = Buffer.from(`${app.password}\0`);
    client.send(
      handshakeResponse({ user: app.name, token: cleartext, authPlugin: 'mysql_clear_password' }),
      1,
    );
    const switchRequest = await client.read();
    assert.equal(switchRequest.payload[0], 0xfe, 'expected an AuthSwitchRequest');
    assert.equal(
      switchRequest.payload.toString('utf8', 1, switchRequest.payload.indexOf(0, 1)),
      'mysql_native_password',
    );
    // It answers the switch with its cleartext password again.
    client.send(cleartext, switchRequest.seq + 1);
    await expectDenied(client, 'cleartext after the switch');
  });

  test('a client that answers the AuthSwitchRequest with a switch request of its own', async () => {
    const client = await RawClient.connect(proxy.port);
    await client.handshake();
    client.send(
      handshakeResponse({ user: app.name, token: Buffer.alloc(0), authPlugin: 'caching_sha2_password' }),
      1,
    );
    const switchRequest = await client.read();
    assert.equal(switchRequest.payload[0], 0xfe);
    client.send(Buffer.from('\xfedialog\0\x04Password: \0', 'latin1'), switchRequest.seq + 1);
    await expectDenied(client, 'counter-switch to dialog');
  });
});

describe('no command is forwarded before authentication succeeds', () => {
  const insert = (id: number): Buffer => comQuery(`INSERT INTO test.preauth VALUES (${id})`);

  test('a query in place of the handshake response, a query pipelined after a wrong password, a query in place of the switch answer', async () => {
    const queriesBefore = metricValue(await proxy.metrics(), 'athena_queries_total');

    const a = await RawClient.connect(proxy.port);
    await a.handshake();
    a.send(insert(1), 1);
    await expectErr(a, 'query instead of the handshake response');
    await a.closedAt;

    const b = await RawClient.connect(proxy.port);
    const greeting = await b.handshake();
    b.write(
      Buffer.concat([
        frame(handshakeResponse({ user: app.name, token: nativeToken('wrong', greeting.scramble) }), 1),
        frame(insert(2), 0),
        frame(insert(3), 0),
      ]),
    );
    await expectDenied(b, 'pipelined after a wrong password');

    const c = await RawClient.connect(proxy.port);
    await c.handshake();
    c.send(
      handshakeResponse({ user: app.name, token: Buffer.alloc(0), authPlugin: 'caching_sha2_password' }),
      1,
    );
    const switchRequest = await c.read();
    assert.equal(switchRequest.payload[0], 0xfe);
    c.send(insert(4), switchRequest.seq + 1);
    await expectDenied(c, 'query instead of the switch answer');

    // The same bytes after a successful login do reach the server: the check above can fail.
    assert.equal(await preauthRows(), 0, 'a command sent before authentication was executed');
    const queriesAfter = metricValue(await proxy.metrics(), 'athena_queries_total');
    assert.equal(queriesAfter, queriesBefore, 'the proxy forwarded commands before authentication');
    const d = await RawClient.connect(proxy.port);
    const ok = await d.login(app.name, app.password);
    assert.equal(ok.payload[0], 0x00);
    d.send(insert(5), 0);
    assert.equal((await d.read()).payload[0], 0x00);
    d.close();
    assert.equal(await preauthRows(), 1);
  });
});

describe('connection caps', () => {
  async function login(user: { name: string; password: string }): Promise<RawClient> {
    const client = await RawClient.connect(proxy.port);
    const answer = await client.login(user.name, user.password);
    if (answer.payload[0] !== 0x00) {
      const err = parseErrPacket(answer.payload);
      client.close();
      throw Object.assign(new Error(`login refused: ${err?.errno} ${err?.message}`), { err });
    }
    return client;
  }

  test('users[].max_connections: the next connection of that user gets ERR 1040; others are unaffected', async () => {
    const held = [await login(capped), await login(capped)];
    try {
      const refused = await login(capped).then(
        (c) => {
          c.close();
          return null;
        },
        (e: { err?: ErrPacket }) => e.err ?? null,
      );
      assert.ok(refused, 'a third connection of a user capped at 2 was accepted');
      assert.equal(refused.errno, 1040, `expected ERR 1040, got ${refused.errno} ${refused.message}`);
      assert.equal(refused.sqlState, '08004');
      const other = await login(free);
      other.close();
    } finally {
      for (const c of held) c.close();
    }
    // The cap is released with the connections.
    await new Promise((resolve) => setTimeout(resolve, 200));
    (await login(capped)).close();
  });

  test('server.max_connections: the connection past the cap gets ERR 1040, and one leaving frees a slot', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const held: RawClient[] = [];
    try {
      for (let i = 0; i < TOTAL_CAP; i++) held.push(await login(free));
      const client = await RawClient.connect(proxy.port);
      const err = await expectErr(client, 'connection past server.max_connections');
      assert.equal(err.errno, 1040, `${err.errno} ${err.message}`);
      await client.closedAt;
      held.pop()!.close();
      await new Promise((resolve) => setTimeout(resolve, 200));
      held.push(await login(free));
    } finally {
      for (const c of held) c.close();
    }
  });
});

test('refused logins are logged with the user, and no password typed by any client (nor the backend password) is in the proxy log', () => {
  const log = proxy.log();
  assert.match(log, /user nobody|'nobody'/, 'the refused login of an unknown user is not logged');
  assert.match(log, /refused.*'app'|'app'.*refused/, 'the refused login of a known user is not logged');
  for (const pw of [...typedSecrets, server.password]) {
    assert.ok(!log.includes(pw), `a password is in the proxy log:\n${log}`);
  }
});
