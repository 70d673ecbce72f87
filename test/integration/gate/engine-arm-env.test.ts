// What the proxy arms' build and start commands see of the environment: the code under test gets
// an allow-list (PATH, HOME, locale…, the names listed with proxyEnv, and what the gate sets for
// the arm), never the Action's inputs or the runner's tokens.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { allowedEnvironment, PassThroughNamesSchema } from '../../../src/util/childEnvironment.ts';
import { silentProgress } from '../../../src/harness/progress.ts';
import { runBenchmark } from '../../../src/engine/run.ts';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { SuiteSchema } from '../../../src/suite/schema.ts';
import { realExec } from '../../../src/util/exec.ts';
import { findFreePort } from '../../../src/util/net.ts';

let server: LocalServer;
let scratch: string;

before(async () => {
  server = await startLocalServer();
  scratch = mkdtempSync(path.join(os.tmpdir(), 'arm-env-test-'));
});

after(async () => {
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** `env -0` output as a map (values may hold newlines). */
function readEnvDump(file: string): Map<string, string> {
  const entries = readFileSync(file, 'utf8').split('\0').filter(Boolean);
  return new Map(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

test('build and start get the allow-list, the listed names and the gate-set variables only', async () => {
  const secret = 'do-not-leak-0123456789';
  const ambient: NodeJS.ProcessEnv = {
    ...process.env,
    'INPUT_GITHUB-TOKEN': secret,
    'INPUT_MYSQL-PASSWORD': secret,
    ACTIONS_RUNTIME_TOKEN: secret,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: secret,
    GITHUB_TOKEN: secret,
    SOME_DEPLOY_KEY: secret,
    LC_ALL: 'C.UTF-8',
    CARGO_HOME: '/opt/cargo',
  };
  const outDir = path.join(scratch, 'out');
  const port = await findFreePort();
  const run = runBenchmark(
    {
      mysql: {
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        database: server.database,
      },
      suite: SuiteSchema.parse({
        name: 'env',
        rounds: 1,
        workloads: [
          {
            id: 'w',
            title: 'w',
            driver: 'sysbench',
            threads: 1,
            options: { test: 'oltp_read_only', timeSec: 1 },
          },
        ],
      }),
      arms: [
        {
          name: 'proxy',
          role: 'proxy',
          build: `env -0 > ${scratch}/build.env`,
          // Exits at once: the run fails, after the environment was written.
          start: `env -0 > ${scratch}/start.env; exit 3`,
          port,
          cwd: scratch,
          trafficCheck: false,
          readyTimeoutMs: 5_000,
          env: { ATHENA_BACKEND_PASSWORD: 'set-by-the-gate' },
        },
      ],
      outDir,
      repoRoot: scratch,
      proxyEnv: ['CARGO_HOME'],
    },
    {
      exec: realExec,
      now: Date.now,
      log: () => undefined,
      progress: silentProgress,
      env: ambient,
      driverFor: (name) => ({
        name,
        detect: async () => ({ available: true, binary: '/bin/true', version: 'sysbench 1.0.20' }),
        prepare: async () => undefined,
        run: () => Promise.reject(new Error('not reached')),
        cleanup: async () => undefined,
      }),
    },
  );
  await assert.rejects(run, /exited before it was ready/);
  for (const phase of ['build', 'start']) {
    const env = readEnvDump(path.join(scratch, `${phase}.env`));
    for (const [name, value] of env) {
      assert.ok(!value.includes(secret), `${phase}: ${name} carries a secret`);
    }
    assert.equal(env.get('PATH'), process.env.PATH, phase);
    assert.equal(env.get('LC_ALL'), 'C.UTF-8', phase);
    assert.equal(env.get('CARGO_HOME'), '/opt/cargo', `${phase}: a listed name passes`);
    assert.equal(env.get('ATHENA_BENCH_PROXY_PORT'), String(port), phase);
    assert.equal(env.get('ATHENA_BENCH_MYSQL_PASSWORD'), server.password, phase);
    assert.equal(env.get('ATHENA_BACKEND_PASSWORD'), 'set-by-the-gate', phase);
    assert.equal(env.has('SOME_DEPLOY_KEY'), false, `${phase}: an unlisted name does not pass`);
  }
});

test('a listed credential name is still dropped, and the list refuses such names with a reason', () => {
  const env = allowedEnvironment(
    { GITHUB_TOKEN: 't', INPUT_X: 'i', ACTIONS_Y: 'a', HOME: '/h' },
    ['GITHUB_TOKEN'],
    {},
  );
  assert.deepEqual(env, { HOME: '/h' });
  assert.deepEqual(PassThroughNamesSchema.parse(' CARGO_HOME, RUSTFLAGS ,'), ['CARGO_HOME', 'RUSTFLAGS']);
  const refused = PassThroughNamesSchema.safeParse('CARGO_HOME,GITHUB_TOKEN');
  assert.equal(refused.success, false);
  assert.match(refused.error!.issues[0]!.message, /never passed: INPUT_/);
  assert.equal(PassThroughNamesSchema.safeParse('A;rm -rf').success, false);
});
