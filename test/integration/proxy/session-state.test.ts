// Session state must never pass from one proxy user to the next through the pool. Two proxy users
// share one backend account (so one pooled connection can serve both); the first changes its
// schema in a way a SQL reader gets wrong, the second must still land in the schema it asked for.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { metricValue } from '../../helpers/metrics.ts';
import { backendOf, spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';

const userA = { name: 'user_a', password: `a-${randomBytes(8).toString('hex')}` };
const userB = { name: 'user_b', password: `b-${randomBytes(8).toString('hex')}` };

let server: LocalServer;
let proxy: RunningProxy;

before(async () => {
  server = await startLocalServer();
  proxy = await spawnProxy({
    backend: backendOf(server),
    users: [userA, userB],
  });
});

after(async () => {
  await proxy?.stop();
  await server?.stop();
});

/** Runs SQL through the proxy with the mariadb CLI, comments kept (sent to the server as written). */
function cli(user: { name: string; password: string }, database: string, sql: string): string[] {
  const run = spawnSync(
    'mariadb',
    [
      '--comments',
      '-h127.0.0.1',
      `-P${proxy.port}`,
      `-u${user.name}`,
      `-p${user.password}`,
      '--batch',
      '--skip-column-names',
      database,
      '-e',
      sql,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(run.status, 0, `mariadb failed: ${run.stderr}`);
  return run.stdout.trim().split('\n');
}

async function idleConnections(): Promise<number> {
  return metricValue(await proxy.metrics(), 'athena_pool_idle_connections', { shard: 'default' });
}

async function waitForIdle(count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await idleConnections()) < count) {
    if (Date.now() > deadline) throw new Error(`the pool never had ${count} idle connections`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a schema changed inside a comment the server ignores does not follow the connection to the next user', async () => {
  const idleBefore = await idleConnections();
  // MariaDB skips a versioned comment newer than itself, so this runs USE mysql; a reader that
  // looks inside the comment sees a SELECT.
  const [idA, dbA] = cli(
    userA,
    'test',
    'SELECT CONNECTION_ID(); /*!999999 SELECT 1 */ USE mysql; SELECT DATABASE()',
  );
  assert.equal(dbA, 'mysql', 'the statement did change the schema on the server');
  await waitForIdle(idleBefore + 1);
  const [row] = cli(userB, 'test', 'SELECT CONNECTION_ID(), DATABASE()');
  const [idB, dbB] = (row ?? '').split('\t');
  assert.equal(idB, idA, "user_b reused user_a's backend connection (the case under test)");
  assert.equal(dbB, 'test', 'user_b is in the schema it asked for');
});

test('a session without a schema never gets a connection left on one (mysql2)', async () => {
  const connect = (user: { name: string; password: string }): Promise<mysql.Connection> =>
    mysql.createConnection({ host: proxy.host, port: proxy.port, user: user.name, password: user.password });
  const idleBefore = await idleConnections();
  const a = await connect(userA);
  const [[before]] = await a.query<mysql.RowDataPacket[]>('SELECT DATABASE() AS db');
  assert.equal(before?.db, null);
  await a.query('/*!999999 SELECT 1 */ USE mysql');
  await a.end();
  await waitForIdle(idleBefore + 1);
  const b = await connect(userB);
  try {
    const [[row]] = await b.query<mysql.RowDataPacket[]>('SELECT DATABASE() AS db');
    assert.equal(row?.db, null, 'user_b has no schema, as it asked');
  } finally {
    await b.end();
  }
});

test("a character set one client set does not follow the connection: the next gets its handshake's", async () => {
  const options = (user: { name: string; password: string }, port: number, host: string) => ({
    host,
    port,
    user: user.name,
    password: user.password,
    charset: 'UTF8MB4_UNICODE_CI',
  });
  const charsetQuery =
    'SELECT CONNECTION_ID() AS id, @@character_set_client AS client, @@character_set_results AS results, ' +
    "@@collation_connection AS collation, 'é€' AS text";
  // What a fresh connection with this handshake has on this server: the reference.
  const direct = await mysql.createConnection({
    ...options({ name: server.user, password: server.password ?? '' }, server.port, server.host),
  });
  const [[expected]] = await direct.query<mysql.RowDataPacket[]>(charsetQuery);
  await direct.end();
  const a = await mysql.createConnection(options(userA, proxy.port, proxy.host));
  const [[first]] = await a.query<mysql.RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
  await a.query('SET NAMES latin1');
  const idleDuring = await idleConnections(); // a may have taken an idle connection
  await a.end();
  await waitForIdle(idleDuring + 1);
  const b = await mysql.createConnection(options(userB, proxy.port, proxy.host));
  try {
    const [[row]] = await b.query<mysql.RowDataPacket[]>(charsetQuery);
    assert.equal(row?.id, first?.id, "user_b reused user_a's backend connection (the case under test)");
    assert.deepEqual(
      { client: row?.client, results: row?.results, collation: row?.collation, text: row?.text },
      { client: expected?.client, results: expected?.results, collation: expected?.collation, text: 'é€' },
    );
  } finally {
    await b.end();
  }
});
