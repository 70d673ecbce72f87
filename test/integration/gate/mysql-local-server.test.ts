import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { startLocalServer, findServerBinary } from '../../../src/mysql/localServer.ts';
import { InfrastructureError } from '../../../src/util/errors.ts';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('starts a throwaway server, answers queries over TCP, and stop() leaves nothing behind', async () => {
  const server = await startLocalServer({ database: 'bench_db' });
  try {
    assert.equal(server.host, '127.0.0.1');
    assert.ok(server.port > 0);
    assert.ok(server.password.length >= 16, 'a random password by default');
    assert.ok(existsSync(server.baseDir));
    assert.ok(processAlive(server.pid));
    const conn = await mysql.createConnection({
      host: server.host,
      port: server.port,
      user: server.user,
      password: server.password,
      database: server.database,
    });
    const [rows] = await conn.query('SELECT DATABASE() AS db, 1 + 1 AS two, VERSION() AS version');
    await conn.end();
    assert.deepEqual(rows, [{ db: 'bench_db', two: 2, version: server.version }]);
  } finally {
    await server.stop();
  }
  assert.equal(processAlive(server.pid), false, 'server process is gone');
  assert.equal(existsSync(server.baseDir), false, 'temp dir is removed');
  await server.stop(); // idempotent
});

test('a missing server binary is one clear error with the install command', () => {
  assert.throws(
    () => findServerBinary('no-such-mysqld-binary'),
    (error: unknown) => {
      assert.ok(error instanceof InfrastructureError);
      assert.match(error.message, /apt-get install -y mariadb-server/);
      assert.match(error.message, /brew install mysql/);
      return true;
    },
  );
});
