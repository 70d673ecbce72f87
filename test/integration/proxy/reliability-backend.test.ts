// Backend faults under the real proxy bundle: MariaDB SIGKILLed during a sysbench run and started
// again. In-flight clients get an error (not a hang), new clients get a clean ERR while it is down,
// the pool recovers without restarting the proxy, no pooled connection with a dead or stale session
// is handed out, and a backend that accepts TCP but never answers is timed out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { which } from '../../../src/util/which.ts';
import { findFreePort } from '../../../src/util/net.ts';
import { startManagedServer, type ManagedServer } from '../../helpers/mariadb.ts';
import { spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';

const user = { name: 'app', password: `pw-${randomBytes(8).toString('hex')}` };
const CONNECT_TIMEOUT_MS = 1500;
const sysbench = which('sysbench');

let server: ManagedServer;
let proxy: RunningProxy;

before(async () => {
  server = await startManagedServer();
  proxy = await spawnProxy({
    backend: { host: server.host, port: server.port, user: server.user, password: server.password },
    users: [user],
    server: { backend_connect_timeout_ms: CONNECT_TIMEOUT_MS },
    pool: { max_idle: 8 },
  });
});

after(async () => {
  await proxy?.stop();
  await server?.stop();
});

function connect(database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: proxy.host,
    port: proxy.port,
    user: user.name,
    password: user.password,
    database,
    connectTimeout: 10_000,
  });
}

async function health(): Promise<number> {
  return (await fetch(`http://127.0.0.1:${proxy.metricsPort}/health`)).status;
}

/** Runs a query on a fresh client through the proxy; resolves with the error (or null). */
async function tryQuery(database?: string): Promise<{ errno?: number; message: string } | null> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await connect(database);
    await conn.query('SELECT 1');
    return null;
  } catch (error) {
    return error as { errno?: number; message: string };
  } finally {
    conn?.destroy();
  }
}

function sysbenchArgs(target: { port: number; user: string; password: string }, extra: string[]): string[] {
  return [
    'oltp_read_write',
    '--db-driver=mysql',
    '--mysql-host=127.0.0.1',
    `--mysql-port=${target.port}`,
    `--mysql-user=${target.user}`,
    `--mysql-password=${target.password}`,
    '--mysql-db=test',
    '--tables=1',
    '--table-size=1000',
    ...extra,
  ];
}

function runSysbench(args: string[]): {
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; endedAt: number }>;
  kill(): void;
} {
  const child = spawn(sysbench!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return {
    done: new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, output, endedAt: Date.now() })),
    ),
    kill: () => child.kill('SIGKILL'),
  };
}

describe(
  'the backend is killed and restarted',
  { skip: sysbench ? false : 'sysbench is not installed' },
  () => {
    test('during a sysbench run: error not hang, clean ERR while down, recovery without a proxy restart', async (t) => {
      const direct = { port: server.port, user: server.user, password: server.password };
      const prepare = runSysbench([...sysbenchArgs(direct, []), 'prepare']);
      assert.equal((await prepare.done).code, 0, 'sysbench prepare failed');

      // Idle pooled connections exist when the server dies: none may be handed out afterwards.
      const warm = await Promise.all(Array.from({ length: 6 }, () => connect('test')));
      for (const c of warm) await c.query('SELECT 1');
      await Promise.all(warm.map((c) => c.end()));

      // A session in a transaction when the server dies must not continue on a new server session.
      const inTx = await connect('test');
      await inTx.query('CREATE TABLE IF NOT EXISTS marks (id INT PRIMARY KEY)');
      await inTx.query('BEGIN');
      await inTx.query('INSERT INTO marks VALUES (1)');

      const run = runSysbench([
        ...sysbenchArgs({ port: proxy.port, user: user.name, password: user.password }, [
          '--threads=4',
          '--time=60',
          '--report-interval=1',
        ]),
        'run',
      ]);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const killedAt = Date.now();
      await server.kill();

      const ended = await Promise.race([
        run.done,
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 20_000)),
      ]);
      if (ended === null) run.kill();
      assert.ok(ended, 'sysbench still running 20 s after the backend died: its clients hang');
      t.diagnostic(`sysbench ended ${ended.endedAt - killedAt} ms after the kill (exit ${ended.code})`);
      assert.notEqual(ended.code, 0, 'sysbench reported success although the server died mid-run');
      assert.match(ended.output, /FATAL|error|Lost connection|gone away/i);

      // While it is down: a clean ERR, quickly, for a new client with and without a database.
      for (const database of [undefined, 'test']) {
        const started = Date.now();
        const err = await tryQuery(database);
        assert.ok(err, `a query succeeded with the backend down (database ${database})`);
        assert.ok(Date.now() - started < CONNECT_TIMEOUT_MS + 5000, `ERR took ${Date.now() - started} ms`);
        assert.ok(typeof err.errno === 'number' && err.errno > 0, `not a MySQL ERR: ${err.message}`);
        assert.match(err.message, /connect|MySQL server|shutdown/i);
      }
      assert.ok(proxy.alive(), 'the proxy died with its backend');
      assert.equal(await health(), 503, '/health is green with the backend down');

      await server.restart();

      // The pool recovers without restarting the proxy.
      const deadline = Date.now() + 15_000;
      let lastError = await tryQuery('test');
      while (lastError !== null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        lastError = await tryQuery('test');
      }
      assert.equal(lastError, null, `no recovery 15 s after the restart: ${lastError?.message}`);
      // ...and from then on every new client works on its first try: no dead pooled connection.
      const results = await Promise.all(Array.from({ length: 12 }, () => tryQuery('test')));
      assert.deepEqual(
        results.filter((r) => r !== null).map((r) => r?.message),
        [],
        'a client got a dead or stale pooled connection after recovery',
      );

      // The session that was in a transaction lost it: it must get an error, never commit on a new session.
      await assert.rejects(inTx.query('COMMIT'));
      inTx.destroy();
      const check = await connect('test');
      const [rows] = await check.query('SELECT COUNT(*) AS n FROM marks');
      assert.equal(Number((rows as Array<{ n: number }>)[0]!.n), 0);
      await check.end();

      // And a short sysbench run through the proxy is clean again. One thread: between threads,
      // oltp_read_write meets InnoDB deadlocks that sysbench counts as ignored errors (normal, not
      // the proxy's); alone, any error is a broken session.
      const again = runSysbench([
        ...sysbenchArgs({ port: proxy.port, user: user.name, password: user.password }, [
          '--threads=1',
          '--time=3',
        ]),
        'run',
      ]);
      const result = await again.done;
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /ignored errors:\s+0 /);
      const deadlineHealth = Date.now() + 5000;
      while ((await health()) !== 200 && Date.now() < deadlineHealth) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(await health(), 200);
    });
  },
);

describe('a backend that accepts TCP but never answers', () => {
  test('is timed out: the client gets an ERR, not a hang', async () => {
    const sockets = new Set<net.Socket>();
    const blackhole = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    const port = await findFreePort();
    await new Promise<void>((resolve) => blackhole.listen(port, '127.0.0.1', resolve));
    const silent = await spawnProxy({
      backend: { host: '127.0.0.1', port, user: 'root', password: 'unused' },
      users: [user],
      server: { backend_connect_timeout_ms: 1000 },
    });
    try {
      const conn = await mysql.createConnection({
        host: silent.host,
        port: silent.port,
        user: user.name,
        password: user.password,
      });
      const started = Date.now();
      const err = await conn.query('SELECT 1').then(
        () => null,
        (e: { errno?: number; message: string }) => e,
      );
      const took = Date.now() - started;
      conn.destroy();
      assert.ok(err, 'a query succeeded against a backend that never answers');
      assert.ok(took < 6000, `the ERR took ${took} ms with backend_connect_timeout_ms = 1000`);
      assert.ok(typeof err.errno === 'number' && err.errno > 0, err.message);
      assert.ok(silent.alive());
    } finally {
      await silent.stop();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => blackhole.close(resolve));
    }
  });
});
