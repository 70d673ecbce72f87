// No lost or doubled writes through the real proxy: concurrent inserts, multi-statement transactions
// (some rolled back, some abandoned by a client that disconnects mid-transaction), on a small pool so
// backend connections are handed from client to client all the time. The table must hold exactly the
// committed rows, and an abandoned transaction is rolled back, never committed by the next client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { backendOf, spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';

const user = { name: 'writer', password: `pw-${randomBytes(8).toString('hex')}` };
const WORKERS = 12;
const INSERTS_PER_WORKER = 40;
const TRANSACTIONS_PER_WORKER = 15;
const ROWS_PER_TRANSACTION = 3;

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
    database: 'test',
  });
  await direct.query(
    'CREATE TABLE inserts (client INT NOT NULL, seq INT NOT NULL, PRIMARY KEY (client, seq))',
  );
  // No unique key on purpose: a doubled write must show up as a doubled row.
  await direct.query('CREATE TABLE tx_rows (txid INT NOT NULL, k INT NOT NULL) ENGINE=InnoDB');
  proxy = await spawnProxy({
    backend: { ...backendOf(server), database: 'test' },
    users: [user],
    // Fewer backend connections than clients: every connection serves many sessions in turn.
    pool: { max_open: 4, max_idle: 4 },
    circuit: { queue_timeout_ms: 30_000 },
  });
});

after(async () => {
  await direct?.end();
  await proxy?.stop();
  await server?.stop();
});

function connect(): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: proxy.host,
    port: proxy.port,
    user: user.name,
    password: user.password,
    database: 'test',
  });
}

type Ending = 'commit' | 'rollback' | 'abandon-idle' | 'abandon-in-query';

function endingFor(txid: number): Ending {
  const endings: Ending[] = ['commit', 'commit', 'rollback', 'abandon-idle', 'commit', 'abandon-in-query'];
  return endings[txid % endings.length]!;
}

describe('no lost or doubled writes', () => {
  test(
    `${WORKERS} clients × ${INSERTS_PER_WORKER} autocommit inserts: every row exactly once`,
    { timeout: 60_000 },
    async () => {
      await Promise.all(
        Array.from({ length: WORKERS }, async (_, client) => {
          // A new session every 10 inserts, so connections change hands mid-stream.
          for (let start = 0; start < INSERTS_PER_WORKER; start += 10) {
            const conn = await connect();
            for (let seq = start; seq < start + 10; seq++) {
              await conn.query('INSERT INTO inserts (client, seq) VALUES (?, ?)', [client, seq]);
            }
            await conn.end();
          }
        }),
      );
      const [rows] = await direct.query(
        'SELECT COUNT(*) AS n, COUNT(DISTINCT client, seq) AS d FROM inserts',
      );
      const { n, d } = (rows as Array<{ n: number; d: number }>)[0]!;
      assert.equal(Number(n), WORKERS * INSERTS_PER_WORKER);
      assert.equal(Number(d), WORKERS * INSERTS_PER_WORKER);
    },
  );

  test(
    'transactions committed, rolled back and abandoned mid-transaction: exactly the committed rows',
    { timeout: 80_000 },
    async () => {
      const committed = new Set<number>();
      await Promise.all(
        Array.from({ length: WORKERS }, async (_, worker) => {
          for (let i = 0; i < TRANSACTIONS_PER_WORKER; i++) {
            const txid = worker * 1000 + i;
            const ending = endingFor(txid);
            const conn = await connect();
            await conn.query('BEGIN');
            for (let k = 0; k < ROWS_PER_TRANSACTION; k++) {
              await conn.query('INSERT INTO tx_rows (txid, k) VALUES (?, ?)', [txid, k]);
            }
            if (ending === 'commit') {
              await conn.query('COMMIT');
              committed.add(txid);
              await conn.end();
            } else if (ending === 'rollback') {
              await conn.query('ROLLBACK');
              await conn.end();
            } else if (ending === 'abandon-idle') {
              conn.destroy(); // no COM_QUIT: the socket just goes away
            } else {
              // mysql2 never settles a query whose connection was destroyed: do not wait for it.
              conn.query('SELECT SLEEP(0.3)').catch(() => undefined);
              await new Promise((resolve) => setTimeout(resolve, 20));
              conn.destroy();
            }
          }
        }),
      );
      // Abandoned sessions are cleaned up asynchronously; give the proxy a moment before reading.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const [rows] = await direct.query(
        'SELECT txid, COUNT(*) AS n FROM tx_rows GROUP BY txid ORDER BY txid',
      );
      const found = new Map((rows as Array<{ txid: number; n: number }>).map((r) => [r.txid, Number(r.n)]));
      const missing = [...committed].filter((t) => !found.has(t));
      const unexpected = [...found.keys()].filter((t) => !committed.has(t));
      assert.deepEqual(missing, [], 'committed transactions lost');
      assert.deepEqual(
        unexpected.map((t) => `${t}:${endingFor(t)}`),
        [],
        'rolled back or abandoned transactions are in the table',
      );
      for (const [txid, n] of found)
        assert.equal(n, ROWS_PER_TRANSACTION, `transaction ${txid} has ${n} rows`);
    },
  );
});

describe('an abandoned session leaves nothing behind for the next client', () => {
  test('its open transaction is rolled back, not committed by the next client on the same connection', async () => {
    // A proxy with one backend connection: the next client necessarily gets the abandoned one.
    const single = await spawnProxy({
      backend: { ...backendOf(server), database: 'test' },
      users: [user],
      pool: { max_open: 1, max_idle: 1 },
    });
    try {
      const open = (): Promise<mysql.Connection> =>
        mysql.createConnection({
          host: single.host,
          port: single.port,
          user: user.name,
          password: user.password,
          database: 'test',
        });
      const a = await open();
      const [ida] = await a.query('SELECT CONNECTION_ID() AS id');
      await a.query('BEGIN');
      await a.query('INSERT INTO tx_rows (txid, k) VALUES (-1, 0)');
      await a.query("SET @leak = 'from-a'");
      await a.query('CREATE TEMPORARY TABLE leak_tmp (x INT)');
      a.destroy();

      const b = await open();
      const [idb] = await b.query('SELECT CONNECTION_ID() AS id');
      assert.deepEqual(idb, ida, 'the next client did not get the same backend connection: nothing tested');
      await b.query('COMMIT'); // would commit A's insert if its transaction had survived
      const [state] = await b.query('SELECT @leak AS v, @@in_transaction AS t');
      assert.deepEqual(state, [{ v: null, t: 0 }]);
      await assert.rejects(b.query('SELECT * FROM leak_tmp'), /doesn't exist/);
      await b.end();
      const [rows] = await direct.query('SELECT COUNT(*) AS n FROM tx_rows WHERE txid = -1');
      assert.equal(Number((rows as Array<{ n: number }>)[0]!.n), 0, 'the abandoned insert was committed');
    } finally {
      await single.stop();
    }
  });
});
