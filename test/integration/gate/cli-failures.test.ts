// Infrastructure failures of `athena-bench run` end to end: a proxy that crashes mid-run, a proxy
// that never becomes ready (SIGINT: cli-sigint.test.ts). Each exits non-zero with the reason (and the
// proxy's log tail), writes results.json with status "failed", and leaves nothing running.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalServer } from '../../../src/mysql/index.ts';
import { athenaConfig } from '../../../src/engine/arms.ts';
import { findFreePort } from '../../../src/util/net.ts';
import {
  expectNoProcesses,
  readResults,
  runCli,
  startMysqlScratch,
  writePointSelectSuite,
  type MysqlScratch,
} from '../../helpers/cli.ts';

let fixture: MysqlScratch;
let server: LocalServer;
let scratch: string;
let mysqlUrl: string;

before(async () => {
  fixture = await startMysqlScratch('cli-failures-', { buildProxy: true });
  ({ server, scratch, mysqlUrl } = fixture);
});

after(() => fixture?.stop());

test(
  'a proxy that crashes mid-run fails the run (exit 3) with its log tail',
  { skip: process.platform !== 'linux' },
  async () => {
    const port = await findFreePort();
    const metricsPort = await findFreePort();
    const cfg = path.join(scratch, 'crashing.toml');
    writeFileSync(cfg, athenaConfig(server, { listen: port, metrics: metricsPort }));
    // Athena with its secrets from the ATHENA_BENCH_* environment, killed 4 s after it started.
    const start =
      'export ATHENA_BACKEND_PASSWORD="$ATHENA_BENCH_MYSQL_PASSWORD" ATHENA_USER_ROOT_PASSWORD="$ATHENA_BENCH_MYSQL_PASSWORD"; ' +
      `node proxy/dist/athena.js --config ${cfg} & sleep 4; kill -9 $!; echo "test: killed the proxy"; wait`;
    const out = path.join(scratch, 'crash');
    const result = await runCli([
      'run',
      '--mysql',
      mysqlUrl,
      '--suite',
      writePointSelectSuite(scratch, 'crash', 20, 1),
      '--out',
      out,
      '--proxy-start',
      start,
      '--proxy-port',
      String(port),
      '--proxy-metrics-url',
      `http://127.0.0.1:${metricsPort}/metrics`,
    ]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /arm "proxy" exited (during|while|before a run)/);
    assert.match(result.stderr, /test: killed the proxy/);
    const results = readResults(out);
    assert.equal(results.status, 'failed');
    assert.ok(results.workloads[0]!.samples.length >= 1, 'rounds before the crash are kept');
    assert.deepEqual(await expectNoProcesses([cfg]), []);
  },
);

test(
  'a proxy that never becomes ready fails within the ready timeout (exit 3)',
  { skip: process.platform !== 'linux' },
  async () => {
    const port = await findFreePort();
    const out = path.join(scratch, 'never');
    const marker = `sleep 6${String(port).slice(-2)}`;
    const result = await runCli([
      'run',
      '--mysql',
      mysqlUrl,
      '--suite',
      writePointSelectSuite(scratch, 'never', 1, 1),
      '--out',
      out,
      '--proxy-start',
      `echo "test: not listening"; ${marker}`,
      '--proxy-port',
      String(port),
      '--ready-timeout',
      '3',
    ]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /arm "proxy" was not ready within 3 s/);
    assert.match(result.stderr, /test: not listening/);
    assert.ok(result.ms < 60_000);
    assert.equal(readResults(out).status, 'failed');
    assert.deepEqual(await expectNoProcesses([marker]), []);
  },
);
