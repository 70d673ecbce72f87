import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectEnvironment, osName } from './environment.ts';
import { realExec } from '../util/exec.ts';
import { EnvironmentSchema } from '../results/schema.ts';

test('osName takes PRETTY_NAME from os-release', () => {
  assert.equal(
    osName('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'),
    'Debian GNU/Linux 12 (bookworm)',
  );
  assert.match(osName(null), /\S/);
});

test('collects the machine, runner variables and limits, and validates against the schema', async () => {
  const env = await collectEnvironment({
    mysqlVersion: '10.11.19-MariaDB',
    sysbenchVersion: 'sysbench 1.0.20',
    mysqlslapVersion: null,
    env: { RUNNER_OS: 'Linux', ImageOS: 'ubuntu24', HOME: '/root', GITHUB_TOKEN: 'secret' },
    exec: realExec,
  });
  assert.deepEqual(env.runner, { RUNNER_OS: 'Linux', ImageOS: 'ubuntu24' });
  assert.ok(env.cores >= 1);
  assert.ok(env.memoryBytes > 0);
  if (process.platform === 'linux') {
    assert.ok(env.somaxconn !== null && env.somaxconn > 0);
  }
  assert.ok(env.ulimitNofile === null || env.ulimitNofile > 0);
  EnvironmentSchema.parse(env);
});
