import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '../../../src/util/net.ts';

const PIPE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../scripts/node-pipe.mjs');

test('the bare pipe copies bytes both ways between a client and the server it stands in front of', async (t) => {
  const echo = net.createServer((socket) => socket.pipe(socket)).listen(0, '127.0.0.1');
  await once(echo, 'listening');
  t.after(() => echo.close());
  const listenPort = await findFreePort();
  const pipe = spawn(process.execPath, [PIPE], {
    env: {
      ...process.env,
      ATHENA_BENCH_PROXY_PORT: String(listenPort),
      ATHENA_BENCH_MYSQL_HOST: '127.0.0.1',
      ATHENA_BENCH_MYSQL_PORT: String((echo.address() as net.AddressInfo).port),
    },
    stdio: 'ignore',
  });
  t.after(() => pipe.kill());
  let client: net.Socket | null = null;
  for (let i = 0; i < 100 && client === null; i++) {
    client = await new Promise<net.Socket | null>((resolve) => {
      const socket = net.connect(listenPort, '127.0.0.1');
      socket.once('connect', () => resolve(socket));
      socket.once('error', () => setTimeout(() => resolve(null), 50));
    });
  }
  assert.ok(client, 'the pipe listens');
  client.write('ping through the pipe');
  const [reply] = (await once(client, 'data')) as [Buffer];
  assert.equal(reply.toString(), 'ping through the pipe');
  client.destroy();
});

test('the bare pipe refuses a missing port and names the variable', () => {
  const result = spawnSync(process.execPath, [PIPE], {
    env: {
      ...process.env,
      ATHENA_BENCH_PROXY_PORT: 'x',
      ATHENA_BENCH_MYSQL_HOST: '127.0.0.1',
      ATHENA_BENCH_MYSQL_PORT: '3306',
    },
    encoding: 'utf8',
  });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /ATHENA_BENCH_PROXY_PORT/);
});
