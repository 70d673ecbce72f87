// Login limits of the real proxy bundle against a throwaway MariaDB, over real sockets from several
// loopback addresses (each 127.0.0.x looks like another host): guesses sent together on many
// connections get no more than the failed-login budget; COM_CHANGE_USER is throttled like a login;
// strangers cannot hold more than server.max_handshakes connections before logging in.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { backendOf, spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';
import {
  RawClient,
  comQuery,
  handshakeResponse,
  nativeToken,
  parseErrPacket,
  type Packet,
} from '../../helpers/wire.ts';

const app = { name: 'app', password: `pw-${randomBytes(8).toString('hex')}` };
const LOGIN_FAILURES = 3;
const MAX_HANDSHAKES = 12;
const HANDSHAKES_PER_IP = 10;

let server: LocalServer;
let proxy: RunningProxy;

before(async () => {
  server = await startLocalServer();
  proxy = await spawnProxy({
    backend: backendOf(server),
    users: [app],
    server: {
      max_login_failures_per_ip: LOGIN_FAILURES,
      max_handshakes: MAX_HANDSHAKES,
      max_handshakes_per_ip: HANDSHAKES_PER_IP,
    },
  });
});

after(async () => {
  await proxy?.stop();
  await server?.stop();
});

/** The errno of an answer, or 0 for OK. */
function errnoOf(packet: Packet): number {
  if (packet.payload[0] === 0x00) return 0;
  const err = parseErrPacket(packet.payload);
  assert.ok(err, `expected OK or ERR, got 0x${packet.payload[0]?.toString(16)}`);
  return err.errno;
}

/** A COM_CHANGE_USER payload answering `scramble` with mysql_native_password. */
function changeUser(user: string, password: string, scramble: Buffer): Buffer {
  const token = nativeToken(password, scramble);
  const collation = Buffer.from([45, 0]); // utf8mb4_general_ci
  return Buffer.concat([
    Buffer.from([0x11]),
    Buffer.from(`${user}\0`),
    Buffer.from([token.length]),
    token,
    Buffer.from('\0'), // no database
    collation,
    Buffer.from('mysql_native_password\0'),
  ]);
}

/** A raw client from `from`, logged in as app; its greeting's scramble kept for COM_CHANGE_USER. */
async function loggedIn(from: string): Promise<{ client: RawClient; scramble: Buffer }> {
  const client = await RawClient.connect(proxy.port, '127.0.0.1', from);
  const greeting = await client.handshake();
  client.send(handshakeResponse({ user: app.name, token: nativeToken(app.password, greeting.scramble) }), 1);
  assert.equal(errnoOf(await client.read()), 0, 'the right password was refused');
  return { client, scramble: greeting.scramble };
}

describe('failed-login throttle', () => {
  test('guesses sent together on many connections get no more than server.max_login_failures_per_ip', async () => {
    const from = '127.0.0.4';
    const failuresBefore = await proxy.series('athena_login_failures_total');
    // Eight handshakes opened before any failure: each one is admitted, the address being clean.
    const clients = await Promise.all(
      Array.from({ length: 8 }, () => RawClient.connect(proxy.port, '127.0.0.1', from)),
    );
    const scrambles = await Promise.all(clients.map(async (c) => (await c.handshake()).scramble));
    clients.forEach((c, i) =>
      c.send(handshakeResponse({ user: app.name, token: nativeToken(`guess-${i}`, scrambles[i]!) }), 1),
    );
    const answers = await Promise.all(clients.map(async (c) => errnoOf(await c.read())));
    assert.equal(answers.filter((e) => e === 1045).length, LOGIN_FAILURES, `answers: ${answers.join(', ')}`);
    assert.equal(answers.filter((e) => e === 1129).length, 8 - LOGIN_FAILURES);
    assert.equal(await proxy.series('athena_login_failures_total'), failuresBefore + LOGIN_FAILURES);
    assert.equal(await proxy.series('athena_logins_throttled_total'), 8 - LOGIN_FAILURES);
    for (const c of clients) c.close();
  });

  test('COM_CHANGE_USER goes through the same throttle: failures count, and a throttled address gets ERR 1129', async () => {
    const from = '127.0.0.5';
    // Logged in before any failure, so each connection may still try a change of user.
    const sessions = await Promise.all(Array.from({ length: LOGIN_FAILURES + 2 }, () => loggedIn(from)));
    const answers: number[] = [];
    for (const [i, { client, scramble }] of sessions.entries()) {
      // The last one knows the right password: a throttled address is refused without its check.
      const password = i === sessions.length - 1 ? app.password : `guess-${i}`;
      client.send(changeUser(app.name, password, scramble), 0);
      const answer = await client.read();
      answers.push(errnoOf(answer));
      if (answers.at(-1) === 1129) {
        assert.match(
          parseErrPacket(answer.payload)!.message,
          /^Host '127\.0\.0\.5' is blocked after 3 failed logins; retry in \d+ s/,
        );
      }
      // A failed change of user closes the connection, as MySQL does.
      if (answers.at(-1) === 0) client.close();
      else await client.closedAt;
    }
    assert.deepEqual(answers, [1045, 1045, 1045, 1129, 1129]);
    const blocked = await RawClient.connect(proxy.port, '127.0.0.1', from);
    assert.equal(
      errnoOf(await blocked.read()),
      1129,
      'the change-user failures throttle new connections too',
    );
    blocked.close();
  });

  test('a change of user with the right password from a clean address still works', async () => {
    const { client, scramble } = await loggedIn('127.0.0.1');
    client.send(changeUser(app.name, app.password, scramble), 0);
    assert.equal(errnoOf(await client.read()), 0);
    client.send(comQuery('SELECT 1'), 0);
    assert.equal((await client.read()).payload[0], 1, 'a result set of one column');
    client.close();
  });
});

describe('server.max_handshakes', () => {
  /** Each address's share once 10 from one and then 10 from another have asked for the 12 slots. */
  const SHARE = MAX_HANDSHAKES / 2;

  test('strangers hold at most server.max_handshakes connections before login, shared out between addresses, so a client from another address still gets in; a logged-in session is unaffected', async () => {
    const { client: member } = await loggedIn('127.0.0.1');
    const before = {
      refused: await proxy.series('athena_connections_refused_total{reason="handshakes"}'),
      evicted: await proxy.series('athena_handshakes_evicted_total'),
    };
    const strangers = new Map<string, RawClient[]>([
      ['127.0.0.6', []],
      ['127.0.0.7', []],
    ]);
    const firstPackets: Packet[] = [];
    try {
      for (const [from, clients] of strangers) {
        for (let i = 0; i < HANDSHAKES_PER_IP; i++) {
          const client = await RawClient.connect(proxy.port, '127.0.0.1', from);
          firstPackets.push(await client.read()); // its greeting, or its refusal
          clients.push(client);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The first address took all it could; the second took slots from it until both held the same.
      const open = (from: string) => strangers.get(from)!.filter((c) => !c.closed).length;
      assert.equal(open('127.0.0.6'), SHARE);
      assert.equal(open('127.0.0.7'), SHARE);
      assert.equal(await proxy.series('athena_connections_unauthenticated'), MAX_HANDSHAKES);
      const evicted = HANDSHAKES_PER_IP - SHARE;
      assert.equal(await proxy.series('athena_handshakes_evicted_total'), before.evicted + evicted);
      assert.equal(
        await proxy.series('athena_connections_refused_total{reason="handshakes"}'),
        before.refused + HANDSHAKES_PER_IP - SHARE,
      );
      const dropped = parseErrPacket((await strangers.get('127.0.0.6')![0]!.read(1000)).payload);
      assert.equal(dropped?.errno, 1040);
      assert.match(dropped?.message ?? '', /made room for a client from a less busy address/);
      const refused = parseErrPacket(firstPackets.at(-1)!.payload);
      assert.equal(refused?.message, 'Too many connections still logging in (server.max_handshakes = 12)');

      // Every slot is taken, and a client from a third address logs in all the same.
      (await loggedIn('127.0.0.8')).client.close();
      member.send(comQuery('SELECT 1'), 0);
      assert.equal((await member.read()).payload[0], 1, 'the logged-in session is still served');
    } finally {
      for (const clients of strangers.values()) for (const c of clients) c.close();
      member.close();
    }
  });
});

describe('IPv6 clients', () => {
  let v6: RunningProxy;

  before(async () => {
    v6 = await spawnProxy({
      backend: backendOf(server),
      users: [app],
      server: { listen_addr: '::1', max_login_failures_per_ip: 1, max_handshakes_per_ip: 1 },
    });
  });

  after(async () => {
    await v6?.stop();
  });

  test('an IPv6 client counts for its /64: the handshake cap and the throttle name it', async () => {
    const holder = await RawClient.connect(v6.port, '::1');
    await holder.handshake();
    const second = await RawClient.connect(v6.port, '::1');
    const capped = parseErrPacket((await second.read()).payload);
    assert.equal(capped?.errno, 1040);
    assert.match(capped?.message ?? '', /^Too many connections from ::\/64 still logging in/);
    await second.closedAt;
    holder.close();
    await new Promise((resolve) => setTimeout(resolve, 200));

    const guess = await RawClient.connect(v6.port, '::1');
    assert.equal(errnoOf(await guess.login(app.name, 'wrong')), 1045);
    guess.close();
    const blocked = await RawClient.connect(v6.port, '::1');
    const err = parseErrPacket((await blocked.read()).payload);
    assert.equal(err?.errno, 1129);
    assert.match(err?.message ?? '', /^Host '::\/64' is blocked after 1 failed logins/);
    blocked.close();
  });
});
