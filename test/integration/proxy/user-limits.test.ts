// What one user can take from the others, against the real proxy bundle and a throwaway MariaDB:
// sessions (server.max_user_connections), idle sessions that keep a backend connection
// pinned, and the memory held for large commands, shared by all sessions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { backendOf, spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';
import { RawClient, comQuery, frame, parseErrPacket, type Packet } from '../../helpers/wire.ts';

const secret = (): string => `pw-${randomBytes(8).toString('hex')}`;
const hog = { name: 'hog', password: secret() };
const other = { name: 'other', password: secret() };
const third = { name: 'third', password: secret() };
const POOL_MAX_OPEN = 6;
/** server.max_user_connections here: half of pool.max_open, so one user leaves the rest to others. */
const USER_SESSIONS = POOL_MAX_OPEN / 2;

let server: LocalServer;
let proxy: RunningProxy;

before(async () => {
  // Room for the 17 MiB command below.
  server = await startLocalServer({ extraArgs: ['--max-allowed-packet=64M'] });
  proxy = await spawnProxy({
    backend: backendOf(server),
    users: [hog, other],
    pool: { max_open: POOL_MAX_OPEN, max_idle: POOL_MAX_OPEN },
    server: { max_user_connections: USER_SESSIONS },
  });
});

after(async () => {
  await proxy?.stop();
  await server?.stop();
});

/** A raw client logged in as `user`: its answer to the login (OK or ERR) and the client. */
async function login(
  user: { name: string; password: string },
  through: RunningProxy = proxy,
): Promise<{ client: RawClient; answer: Packet }> {
  const client = await RawClient.connect(through.port);
  return { client, answer: await client.login(user.name, user.password) };
}

/** A raw client logged in as `user`, its login asserted. */
async function loggedIn(user: { name: string; password: string }, through: RunningProxy): Promise<RawClient> {
  const { client, answer } = await login(user, through);
  assert.equal(answer.payload[0], 0x00, `${user.name} was refused`);
  return client;
}

/** A proxy with the least command_memory_budget allowed: 4 × max_allowed_packet, half of it per user. */
function spawnWithBudget(maxAllowedPacket: number): Promise<RunningProxy> {
  return spawnProxy({
    backend: backendOf(server),
    users: [hog, other, third],
    server: { max_allowed_packet: maxAllowedPacket, command_memory_budget: 4 * maxAllowedPacket },
  });
}

/** What the proxy holds for commands not yet forwarded (server.command_memory_budget). */
const HELD = 'athena_command_memory_bytes';
/** What each session holds of commands without drawing on the budget. */
const FREE_PER_SESSION = 64 * 1024;

/** The series' value once it is `expected` (polled for up to 10 s), else the last value read. */
async function seriesBecomes(through: RunningProxy, series: string, expected: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  let value = await through.series(series);
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await through.series(series);
  }
  return value;
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
  test('with server.max_user_connections at half of pool.max_open, one user holds at most that; another still gets in and is served', async () => {
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
      assert.equal(await proxy.series('athena_pool_active_connections{shard="default"}'), USER_SESSIONS);
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

  test('a session idle inside its transaction is closed with ERR 4031, its transaction rolled back and its backend connection returned; a busy one stays', async () => {
    const idle = await loggedIn(hog, idleProxy);
    const busy = await loggedIn(other, idleProxy);
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

describe('server.command_memory_budget', () => {
  const MAX_ALLOWED_PACKET = 1024 * 1024;
  /** A COM_QUERY packet of 900 KiB of payload: two fit in the budget, three do not. */
  const PAYLOAD = 900 * 1024;
  const PACKET = PAYLOAD + 4;
  /** What one such packet, once its buffer has grown to its size, takes of the budget. */
  const CHARGE = PACKET - FREE_PER_SESSION;
  const bigQuery = Buffer.concat([
    Buffer.from([PAYLOAD & 0xff, (PAYLOAD >> 8) & 0xff, PAYLOAD >> 16, 0]),
    comQuery(`SELECT 1 /*${'a'.repeat(PAYLOAD - 1 - 'SELECT 1 /**/'.length)}*/`),
  ]);
  /** More than half of the packet: the proxy's buffer for it has grown to the packet's size. */
  const STALL_AT = 800 * 1024;
  let budgetProxy: RunningProxy;

  before(async () => {
    assert.equal(bigQuery.length, PACKET);
    budgetProxy = await spawnWithBudget(MAX_ALLOWED_PACKET);
  });

  after(async () => {
    await budgetProxy?.stop();
  });

  /** Sends the whole large command on `client` and returns the ERR it gets (null: none). */
  async function refusedLargeCommand(client: RawClient): Promise<ReturnType<typeof parseErrPacket>> {
    client.write(bigQuery);
    const err = parseErrPacket((await client.read()).payload);
    await client.closedAt;
    return err;
  }

  /** Stops a large command of `user` half-way on a new session: that session holds CHARGE. */
  async function stall(user: { name: string; password: string }): Promise<RawClient> {
    const client = await loggedIn(user, budgetProxy);
    await client.writeInPieces(bigQuery.subarray(0, STALL_AT), 8);
    return client;
  }

  test('half-sent commands use up the budget, a user at most half of it; the next large command gets ERR 1041, and the budget comes back as commands are forwarded or sessions close', async () => {
    // Budget 4 MiB, 2 MiB per user: two of these commands per user, four in all.
    const hogs = [await stall(hog), await stall(hog)];
    assert.equal(await seriesBecomes(budgetProxy, HELD, 2 * CHARGE), 2 * CHARGE);
    const own = await refusedLargeCommand(await loggedIn(hog, budgetProxy));
    assert.equal(own?.errno, 1041, "a user's third large command went past its half of the budget");
    assert.equal(own?.sqlState, 'HY000');
    assert.match(own?.message ?? '', /for this user, .*at most half of it per user\); retry later$/);

    // Another user still has its half; once both are used up, a third user's command does not fit.
    const others = [await stall(other), await stall(other)];
    assert.equal(await seriesBecomes(budgetProxy, HELD, 4 * CHARGE), 4 * CHARGE);
    const full = await refusedLargeCommand(await loggedIn(third, budgetProxy));
    assert.equal(full?.errno, 1041, 'a large command was accepted past the budget');
    assert.match(full?.message ?? '', /server\.command_memory_budget = 4194304/);
    assert.equal(await budgetProxy.series('athena_command_memory_refused_total'), 2);
    assert.equal(
      await seriesBecomes(budgetProxy, HELD, 4 * CHARGE),
      4 * CHARGE,
      'a refused command kept some of the budget',
    );

    // A command completes and is forwarded: its share comes back, and a new one fits.
    const done = hogs.pop()!;
    done.write(bigQuery.subarray(STALL_AT));
    await drainResult(done, await done.read());
    assert.equal(await seriesBecomes(budgetProxy, HELD, 3 * CHARGE), 3 * CHARGE);
    const served = await loggedIn(third, budgetProxy);
    served.write(bigQuery);
    await drainResult(served, await served.read());
    assert.equal(await seriesBecomes(budgetProxy, HELD, 3 * CHARGE), 3 * CHARGE);

    // Sessions that leave mid-command give their share back too.
    for (const c of [...hogs, ...others]) c.close();
    assert.equal(await seriesBecomes(budgetProxy, HELD, 0), 0);
    for (const c of [done, served]) {
      await drainResult(c, await query(c, 'SELECT 1'));
      c.close();
    }
  });
});

describe('server.command_memory_budget, a command over 16 MiB', () => {
  const MiB = 1024 * 1024;
  const MAX_ALLOWED_PACKET = 20 * MiB;
  /** 17 MiB: two packets on the wire, joined by the proxy into one buffer before it is forwarded. */
  const joinedCommand = frame(
    comQuery(`SELECT 1 /*${'a'.repeat(17 * MiB - 1 - 'SELECT 1 /**/'.length)}*/`),
    0,
  );
  /** A 10 MiB packet, sent up to STALL_AT: past 8 MiB, the proxy's buffer has the packet's size. */
  const stalled = frame(comQuery(`SELECT 1 /*${'b'.repeat(10 * MiB - 1 - 'SELECT 1 /**/'.length)}*/`), 0);
  const STALL_AT = 9 * MiB;
  let bigProxy: RunningProxy;

  before(async () => {
    bigProxy = await spawnWithBudget(MAX_ALLOWED_PACKET);
  });

  after(async () => {
    await bigProxy?.stop();
  });

  test('its packets and the copy that joins them both count: 50 MiB held elsewhere leave room for its packets, not for both', async () => {
    // Budget 80 MiB (40 per user): five 10 MiB commands stopped half-way, by two users.
    const holders: RawClient[] = [];
    for (const user of [hog, hog, hog, third, third]) {
      const client = await loggedIn(user, bigProxy);
      await client.writeInPieces(stalled.subarray(0, STALL_AT), 36);
      holders.push(client);
    }
    const charge = 5 * (stalled.length - FREE_PER_SESSION);
    assert.equal(await seriesBecomes(bigProxy, HELD, charge), charge);
    // Its packets (17 MiB) fit next to the 50; with the copy that joins them (17 more) they do not.
    const refused = await loggedIn(other, bigProxy);
    await refused.writeInPieces(joinedCommand, 68);
    const err = parseErrPacket((await refused.read(10_000)).payload);
    assert.equal(err?.errno, 1041, 'the joined command was not counted');
    assert.match(err?.message ?? '', new RegExp(`needs ${joinedCommand.length} more`));
    await refused.closedAt;
    for (const c of holders) c.close();
    assert.equal(await seriesBecomes(bigProxy, HELD, 0), 0);

    const served = await loggedIn(other, bigProxy);
    await served.writeInPieces(joinedCommand, 68);
    await drainResult(served, await served.read(10_000));
    assert.equal(await seriesBecomes(bigProxy, HELD, 0), 0, 'forwarded: nothing held');
    served.close();
  });
});
