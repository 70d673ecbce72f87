// `athena-bench run` against a server that is already running (--mysql), with another proxy given
// by --proxy-start (haproxy in TCP mode, traffic check off), and the traffic check catching a
// proxy whose metrics come from an instance the benchmark does not go through.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalServer } from '../../../src/mysql/index.ts';
import { ResultsSchema } from '../../../src/results/schema.ts';
import { athenaConfig, haproxyConfig } from '../../../src/engine/arms.ts';
import { findFreePort } from '../../../src/util/net.ts';
import { probeMysqlHandshake } from '../../../src/harness/handshake.ts';
import { launchProxy } from '../../helpers/proxy.ts';
import {
  expectNoProcesses,
  runCli,
  startMysqlScratch,
  writePointSelectSuite,
  type MysqlScratch,
} from '../../helpers/cli.ts';

let fixture: MysqlScratch;
let server: LocalServer;
let scratch: string;
let suiteFile: string;
let mysqlUrl: string;

before(async () => {
  fixture = await startMysqlScratch('cli-run-mysql-', { buildProxy: true });
  ({ server, scratch, mysqlUrl } = fixture);
  // One short workload keeps each run to seconds.
  suiteFile = writePointSelectSuite(scratch, 'point-select', 1, 1);
});

after(() => fixture?.stop());

test(
  '--mysql: the run uses the given server and leaves it running',
  { skip: process.platform !== 'linux' },
  async () => {
    const out = path.join(scratch, 'given');
    const result = await runCli([
      'run',
      '--mysql',
      mysqlUrl,
      '--suite',
      suiteFile,
      '--no-baseline',
      '--out',
      out,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const results = ResultsSchema.parse(JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')));
    assert.equal(results.arms[0]!.port, server.port);
    assert.equal(results.workloads[0]!.samples.length, 2);
    assert.ok(!readFileSync(path.join(out, 'results.json'), 'utf8').includes(server.password));
    assert.ok(!result.stdout.includes(server.password) && !result.stderr.includes(server.password));
    assert.equal(
      (await probeMysqlHandshake(server.host, server.port)).ok,
      true,
      'the given server is not stopped',
    );
    assert.deepEqual(await expectNoProcesses([out]), []);
  },
);

test(
  '--proxy-start haproxy in TCP mode with the traffic check off',
  { skip: process.platform !== 'linux' },
  async () => {
    const port = await findFreePort();
    const cfg = path.join(scratch, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(server, port));
    const out = path.join(scratch, 'haproxy');
    const start = `haproxy -db -f ${cfg}`;
    const result = await runCli([
      'run',
      '--mysql',
      mysqlUrl,
      '--suite',
      suiteFile,
      '--out',
      out,
      '--proxy-start',
      start,
      '--proxy-port',
      String(port),
      '--no-traffic-check',
    ]);
    assert.equal(result.code, 0, result.stderr);
    // Its config names a fixed port: a second haproxy built from HEAD could not run next to it.
    assert.match(
      result.stderr,
      /no comparison: HEAD's build cannot run next to it \(.*\); --base-ref compares anyway/,
    );
    const results = ResultsSchema.parse(JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')));
    assert.equal(results.arms[1]!.command, start);
    assert.equal(results.arms.length, 2, 'measured alone, next to direct MySQL');
    const proxy = results.workloads[0]!.samples.find((s) => s.arm === 'proxy')!;
    assert.ok(proxy.metrics.tps > 0);
    assert.ok(
      (proxy.proxy?.cpuSeconds ?? -1) >= 0 && (proxy.proxy?.peakRssMb ?? 0) > 0,
      'haproxy CPU and RSS measured',
    );
    assert.match(
      readFileSync(path.join(out, 'report.md'), 'utf8'),
      /\| Select \| 4 \| \d[\d.]* QPS \| \d[\d.]* QPS \| -?\d/,
    );
    assert.deepEqual(await expectNoProcesses([cfg]), []);
  },
);

test(
  'the traffic check fails a proxy that forwards past the Athena whose metrics are scraped',
  { skip: process.platform !== 'linux' },
  async () => {
    // An idle Athena (its metrics say 0 queries) and a haproxy that sends the traffic straight to MySQL.
    const idle = await launchProxy((listen, metrics) => athenaConfig(server, { listen, metrics }), {
      env: { ATHENA_BACKEND_PASSWORD: server.password, ATHENA_USER_ROOT_PASSWORD: server.password },
    });
    const metricsPort = idle.metricsPort;
    try {
      const port = await findFreePort();
      const cfg = path.join(scratch, 'bypass.cfg');
      writeFileSync(cfg, haproxyConfig(server, port));
      const out = path.join(scratch, 'bypass');
      const result = await runCli([
        'run',
        '--mysql',
        mysqlUrl,
        '--suite',
        suiteFile,
        '--out',
        out,
        '--proxy-start',
        `haproxy -db -f ${cfg}`,
        '--proxy-port',
        String(port),
        '--proxy-metrics-url',
        `http://127.0.0.1:${metricsPort}/metrics`,
      ]);
      assert.equal(result.code, 3, result.stderr);
      assert.match(
        result.stderr,
        /traffic check failed: the proxy saw 0 of \d+ queries — the benchmark did not go through it/,
      );
      const results = ResultsSchema.parse(JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')));
      assert.equal(results.status, 'failed');
      assert.match(readFileSync(path.join(out, 'report.md'), 'utf8'), /The run FAILED/);
      assert.deepEqual(await expectNoProcesses([cfg]), []);
    } finally {
      await idle.stop();
    }
  },
);
