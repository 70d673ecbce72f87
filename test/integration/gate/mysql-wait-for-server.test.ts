import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { waitForServer } from '../../../src/mysql/waitForServer.ts';
import { InfrastructureError } from '../../../src/util/errors.ts';
import { findFreePort } from '../../../src/util/net.ts';
import { startLocalServer, type LocalServer } from '../../../src/mysql/localServer.ts';

test('times out against a closed port with host:port, the last error and a hint', async () => {
  const port = await findFreePort();
  const started = Date.now();
  await assert.rejects(
    waitForServer(`mysql://root:topsecret@127.0.0.1:${port}/test`, 800),
    (error: unknown) => {
      assert.ok(error instanceof InfrastructureError);
      assert.equal(error.exitCode, 3);
      assert.match(error.message, new RegExp(`MySQL at 127\\.0\\.0\\.1:${port} was not ready after 0\\.8 s`));
      assert.match(error.message, /ECONNREFUSED/);
      assert.match(error.message, /Hint: connection refused: nothing listens there/);
      assert.doesNotMatch(error.message, /topsecret/);
      return true;
    },
  );
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 700 && elapsed < 5000, `took ${elapsed} ms`);
});

test('retries with exponential backoff until the probe succeeds (fake clock)', async () => {
  let now = 0;
  const sleeps: number[] = [];
  let calls = 0;
  const info = await waitForServer({ host: 'db', port: 3306, user: 'u', password: 'p' }, 60_000, {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    probe: async () => {
      calls += 1;
      if (calls < 7) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return '8.0.36';
    },
  });
  assert.deepEqual(info, { version: '8.0.36', attempts: 7 });
  assert.deepEqual(sleeps, [100, 200, 400, 800, 1600, 2000]);
});

test('a server that accepts TCP but never speaks is reported, not waited on forever', async () => {
  const silent = net.createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as net.AddressInfo).port;
  try {
    await assert.rejects(
      waitForServer(`mysql://root:x@127.0.0.1:${port}`, 1500),
      /was not ready after 1\.5 s/,
    );
  } finally {
    silent.close();
  }
});

test('against a real server: succeeds with the right password, explains a wrong one and an unknown database', async (t) => {
  const server: LocalServer = await startLocalServer();
  t.after(() => server.stop());
  const { host, port, user, password } = server;
  const ok = await waitForServer({ host, port, user, password, database: 'test' }, 10_000);
  assert.match(ok.version, /MariaDB|^\d+\.\d+/);

  await assert.rejects(
    waitForServer({ host, port, user, password: 'wrong-password', database: 'test' }, 600),
    (error: unknown) => {
      assert.ok(error instanceof InfrastructureError);
      assert.match(error.message, new RegExp(`MySQL at 127\\.0\\.0\\.1:${port} was not ready`));
      assert.match(error.message, /Access denied/);
      assert.match(error.message, /Hint: authentication failed for user "root"/);
      assert.doesNotMatch(error.message, /wrong-password/);
      return true;
    },
  );

  await assert.rejects(
    waitForServer({ host, port, user, password, database: 'no_such_db' }, 600),
    /Hint: unknown database "no_such_db"/,
  );
});
