import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { driverEnvironment, withDriverDir } from './sandbox.ts';

test("a driver's environment is the allow-list and its own needs: no token, input or runner credential", () => {
  const ambient = {
    PATH: '/usr/bin',
    HOME: '/home/runner',
    LANG: 'C.UTF-8',
    LC_ALL: 'C',
    TMPDIR: '/tmp/x',
    GITHUB_TOKEN: 'ghs_secret',
    'INPUT_GITHUB-TOKEN': 'ghs_secret',
    'INPUT_MYSQL-PASSWORD': 'pw',
    ACTIONS_RUNTIME_TOKEN: 'rt',
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc',
    LUA_PATH: './?.lua',
    LD_PRELOAD: '/tmp/evil.so',
    CARGO_HOME: '/c',
  };
  const env = driverEnvironment(ambient, { MYSQL_PWD: 'pw' });
  assert.deepEqual(env, {
    PATH: '/usr/bin',
    HOME: '/home/runner',
    LANG: 'C.UTF-8',
    LC_ALL: 'C',
    TMPDIR: '/tmp/x',
    MYSQL_PWD: 'pw',
  });
});

test('a driver runs in a fresh private directory, removed afterwards', async () => {
  let seen = '';
  const answer = await withDriverDir('probe', async (dir) => {
    seen = dir;
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.notEqual(dir, process.cwd());
    return 42;
  });
  assert.equal(answer, 42);
  assert.ok(!existsSync(seen));
  await assert.rejects(
    withDriverDir('probe', async (dir) => {
      seen = dir;
      throw new Error('driver failed');
    }),
    /driver failed/,
  );
  assert.ok(!existsSync(seen), 'removed on failure too');
});
