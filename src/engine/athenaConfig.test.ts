// The config the engine generates for Athena is accepted by Athena's own loader, with the passwords
// coming from the environment variables the arm sets (the file holds none).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultProxyArm } from './arms.ts';
import { parseConfig } from '../../proxy/src/config.ts';

test("Athena's loader accepts the generated config and takes the secrets from the arm's env", () => {
  const mysql = { host: '127.0.0.1', port: 33061, user: 'root', password: 'pw-from-env', database: 'test' };
  const arm = defaultProxyArm(mysql, '/repo', {
    port: 45000,
    metricsPort: 45001,
    configPath: '/out/athena.toml',
  });
  const config = parseConfig(arm.files![0]!.contents, arm.env);
  assert.equal(config.server.listen_port, 45000);
  assert.equal(config.server.metrics_port, 45001);
  assert.deepEqual(
    config.shards.map((s) => [s.host, s.port, s.user, s.password]),
    [['127.0.0.1', 33061, 'root', 'pw-from-env']],
  );
  assert.deepEqual(
    config.users.map((u) => [u.name, u.password]),
    [['root', 'pw-from-env']],
  );
  assert.throws(() => parseConfig(arm.files![0]!.contents, {}), /password/);
});
