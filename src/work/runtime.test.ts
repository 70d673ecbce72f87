import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeWorkFlags } from './runtime.ts';
import { workStartFor } from './runtime.ts';

const flags = nodeWorkFlags('/out');

test('a node proxy gets the V8 flags after each node it runs directly', () => {
  assert.equal(workStartFor('node server.js --port 1', '/out'), `node ${flags} server.js --port 1`);
  assert.equal(
    workStartFor('cd app && exec /usr/local/bin/node dist/main.js', '/out'),
    `cd app && exec /usr/local/bin/node ${flags} dist/main.js`,
  );
});

test('native proxies and commands that set the flags themselves run as given', () => {
  for (const start of [
    'haproxy -db -f haproxy.cfg',
    'exec proxysql -f --initial -c "$dir/proxysql.cnf"',
    './target/release/nodes-proxy --listen 1',
    'node --single-threaded --hash-seed=7 server.js',
  ]) {
    assert.equal(workStartFor(start, '/out'), start);
  }
});
