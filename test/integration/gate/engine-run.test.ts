// The runner's logic with a scripted driver (the real drivers are exercised in cli-*.test.ts):
// interleaving, adaptive rounds, skipped workloads, the traffic check, a proxy that dies, a proxy
// that never becomes ready, and that every path leaves results.json behind and no process running.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import {
  runBenchmark,
  type EngineDeps,
  type ProxyArmSpec,
  type RunOptions,
} from '../../../src/engine/run.ts';
import { findFreePort } from '../../../src/util/net.ts';
import { runGate } from '../../../src/gate/runGate.ts';
import { renderMeasurementReport } from '../../../src/report/markdown.ts';
import { ResultsSchema, type DriverMetrics } from '../../../src/results/schema.ts';
import { SuiteSchema, type SuiteInput, type DriverName } from '../../../src/suite/schema.ts';
import type { Driver, DriverContext } from '../../../src/drivers/types.ts';
import { InfrastructureError } from '../../../src/util/errors.ts';
import { engineDeps } from '../../helpers/engine.ts';

// A stand-in proxy: answers a MySQL v10 greeting on its port and serves athena_queries_total on
// its metrics port; POST /count?n=K adds K (what a driver going through it would cause).
const FAKE_PROXY = `
const net = require('node:net'); const http = require('node:http');
const [port, metricsPort] = process.argv.slice(2).map(Number);
let queries = 0;
const greeting = Buffer.concat([Buffer.from([10]), Buffer.from('5.7.0-fake\\0'), Buffer.alloc(40)]);
const header = Buffer.alloc(4); header.writeUIntLE(greeting.length, 0, 3);
net.createServer((s) => { s.on('error', () => {}); s.end(Buffer.concat([header, greeting])); }).listen(port, '127.0.0.1');
http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/count') queries += Number(url.searchParams.get('n'));
  res.end('# TYPE athena_queries_total counter\\nathena_queries_total{type="select"} ' + queries + '\\n');
}).listen(metricsPort, '127.0.0.1', () => console.log('fake proxy listening on ' + port));
process.on('SIGTERM', () => { console.log('fake proxy stopping'); process.exit(0); });
`;

let server: LocalServer;
let scratch: string;
let fakeProxyFile: string;

before(async () => {
  server = await startLocalServer();
  scratch = mkdtempSync(path.join(os.tmpdir(), 'engine-run-test-'));
  fakeProxyFile = path.join(scratch, 'fake-proxy.cjs');
  writeFileSync(fakeProxyFile, FAKE_PROXY);
});

after(async () => {
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const suiteInput = (extra: Partial<SuiteInput> = {}): SuiteInput => ({
  name: 'unit',
  rounds: 2,
  workloads: [
    {
      id: 'rw',
      title: 'OLTP R/W',
      driver: 'sysbench',
      threads: 4,
      options: { test: 'oltp_read_write', timeSec: 1 },
    },
    { id: 'slap', title: 'mysqlslap', driver: 'mysqlslap', threads: 5, options: { autoGenerateSql: true } },
  ],
  ...extra,
});

interface DriverScript {
  /** Whether the driver's queries reach the fake proxy's counter (false: a proxy that forwards elsewhere). */
  countThroughProxy: boolean;
  unavailable?: DriverName[];
  runMs?: number;
  /** Called at the start of every run (e.g. to interrupt the benchmark mid-run). */
  onRun?: () => void;
}

/** A driver whose runs are scripted: fixed numbers, and traffic reported to the fake proxy. */
function scriptedDrivers(script: DriverScript, metricsPortOf: Map<number, number>, log: string[]) {
  return (name: DriverName): Driver => ({
    name,
    detect: async () =>
      script.unavailable?.includes(name)
        ? { available: false, reason: `${name} is not installed.`, installHint: `apt-get install -y ${name}` }
        : { available: true, binary: `/usr/bin/${name}`, version: `${name} 9.9` },
    prepare: async (w, ctx) => void log.push(`prepare ${w.id} ${ctx.target.port}`),
    cleanup: async (w) => void log.push(`cleanup ${w.id}`),
    run: async (w, ctx: DriverContext, opts) => {
      const queries = 1000;
      log.push(`run ${w.id} ${ctx.target.port} ${opts?.durationSec ?? '-'} warmup=${w.warmupSec}`);
      script.onRun?.();
      const metricsPort = metricsPortOf.get(ctx.target.port);
      if (metricsPort && script.countThroughProxy) {
        await fetch(`http://127.0.0.1:${metricsPort}/count?n=${queries}`);
      }
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, script.runMs ?? 20);
        ctx.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new InfrastructureError('driver killed'));
        });
      });
      const tps = metricsPort ? 90 : 100;
      const metrics: DriverMetrics = {
        durationSec: 1,
        transactions: tps,
        tps,
        queries,
        qps: queries,
        queriesRead: null,
        queriesWrite: null,
        queriesOther: null,
        latencyMs: { min: 1, avg: 2, max: 5, p95: metricsPort ? 3.5 : 3, p99: 4 },
        errors: 0,
        reconnects: 0,
        intervals: [],
      };
      return { metrics, loadGeneratorCpuUsPerQuery: null, rawOutput: '' };
    },
  });
}

async function fakeProxyArm(
  start?: (port: number, metricsPort: number) => string,
): Promise<ProxyArmSpec & { metricsPort: number }> {
  const port = await findFreePort();
  const metricsPort = await findFreePort();
  return {
    name: 'proxy',
    role: 'proxy',
    start: start ? start(port, metricsPort) : `exec node ${fakeProxyFile} ${port} ${metricsPort}`,
    port,
    metricsPort,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    cwd: scratch,
    trafficCheck: true,
    readyTimeoutMs: 10_000,
  };
}

function deps(driverFor: EngineDeps['driverFor']): EngineDeps {
  return engineDeps({ driverFor });
}

function target() {
  return {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: server.database,
  };
}

/** Pids of processes whose command line mentions a marker: what a run must not leave behind. */
function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(marker))
        pids.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return pids;
}

describe('runBenchmark with a scripted driver', { skip: process.platform !== 'linux' }, () => {
  test('interleaves arms ABBA, measures the proxy, writes valid results and report, stops the proxy', async () => {
    const arm = await fakeProxyArm();
    const log: string[] = [];
    const outDir = path.join(scratch, 'ok');
    const options: RunOptions = {
      mysql: target(),
      suite: SuiteSchema.parse(suiteInput({ workloads: [{ ...suiteInput().workloads[0]!, warmupSec: 1 }] })),
      arms: [arm],
      outDir,
      repoRoot: process.cwd(),
    };
    const outcome = await runBenchmark(
      options,
      deps(scriptedDrivers({ countThroughProxy: true }, new Map([[arm.port, arm.metricsPort]]), log)),
    );
    const results = ResultsSchema.parse(JSON.parse(readFileSync(outcome.resultsPath, 'utf8')));
    assert.equal(results.status, 'complete');
    const order = results.workloads[0]!.samples.map((s) => `${s.round}:${s.arm}`);
    assert.deepEqual(order, ['0:direct', '0:proxy', '1:proxy', '1:direct']);
    // A warmup run per arm with the suite's warmup, then measured runs without driver warmup.
    assert.deepEqual(log.filter((l) => l.startsWith('run')).slice(0, 2), [
      `run rw ${server.port} 1 warmup=0`,
      `run rw ${arm.port} 1 warmup=0`,
    ]);
    assert.equal(log.at(-1), 'cleanup rw');
    const proxySample = results.workloads[0]!.samples.find((s) => s.arm === 'proxy')!;
    assert.deepEqual(proxySample.proxy!.trafficCheck, {
      expectedQueries: 1000,
      observedQueries: 1000,
      ok: true,
    });
    assert.ok(
      proxySample.proxy!.peakRssMb > 10,
      `peak RSS of a node process: ${proxySample.proxy!.peakRssMb}`,
    );
    assert.ok(proxySample.harnessCpuShare !== null);
    assert.equal(results.arms.map((a) => a.name).join(), 'direct,proxy');
    assert.equal(results.environment.sysbenchVersion, 'sysbench 9.9');
    const report = renderMeasurementReport(results);
    assert.match(report, /\| Workload \| Threads \| Direct MySQL \| Via proxy \| Overhead \|/);
    assert.match(
      report,
      /\| OLTP R\/W \| 4 \| 100 TPS ±0\.0% \| 90\.0 TPS ±0\.0% \| 10\.0% \(10\.0…10\.0\) \|/,
    );
    // Where the time went: every step of the run, the workload's own steps labelled with it.
    const phaseNames = results.phases!.map((p) => (p.workload ? `${p.name} (${p.workload})` : p.name));
    for (const name of [
      'proxy build',
      'proxy start',
      'time: prepare (rw)',
      'time: warm-up (rw)',
      'time: planned rounds (rw)',
      'teardown',
    ]) {
      assert.ok(phaseNames.includes(name), `phase ${name} in ${phaseNames.join(', ')}`);
    }
    const runSeconds = (Date.parse(results.finishedAt) - Date.parse(results.startedAt)) / 1000;
    const rounds = results.phases!.find((p) => p.name === 'time: planned rounds')!;
    assert.ok(rounds.seconds > 0 && rounds.seconds <= runSeconds, `${rounds.seconds} s of ${runSeconds} s`);
    assert.match(report, /## Where the time went/);
    assert.ok(!report.includes(server.password));
    assert.ok(!readFileSync(outcome.resultsPath, 'utf8').includes(server.password));
    assert.match(readFileSync(path.join(outDir, 'logs', 'proxy.log'), 'utf8'), /fake proxy stopping/);
    assert.deepEqual(processesMentioning(fakeProxyFile), []);
  });

  test('a missing driver skips its workloads with the install command; the verdict hook adds rounds', async () => {
    const arm = await fakeProxyArm();
    const log: string[] = [];
    const asked: number[] = [];
    const outcome = await runBenchmark(
      {
        mysql: target(),
        suite: SuiteSchema.parse(suiteInput({ rounds: 2, maxRounds: 4 })),
        arms: [arm],
        outDir: path.join(scratch, 'adaptive'),
        moreRounds: (w, _results, remaining) => {
          asked.push(remaining);
          return w.samples.length < 6 ? 1 : 0;
        },
      },
      deps(
        scriptedDrivers(
          { countThroughProxy: true, unavailable: ['mysqlslap'] },
          new Map([[arm.port, arm.metricsPort]]),
          log,
        ),
      ),
    );
    const [rw, slap] = outcome.results.workloads;
    assert.equal(new Set(rw!.samples.map((s) => s.round)).size, 3);
    assert.equal(asked.length, 2, 'asked after round 2 (yes) and after round 3 (no)');
    assert.equal(asked[0], Number.POSITIVE_INFINITY, 'no budget given');
    assert.match(slap!.skipped!, /mysqlslap is not installed\. Install: apt-get install -y mysqlslap/);
    assert.ok(outcome.results.warnings.some((w) => w.startsWith('Skipped slap')));
    assert.match(renderMeasurementReport(outcome.results), /\| mysqlslap \| 5 \| skipped \|/);
  });

  test('past the budget no adaptive rounds are added', async () => {
    const arm = await fakeProxyArm();
    let asked = 0;
    const outcome = await runBenchmark(
      {
        mysql: target(),
        suite: SuiteSchema.parse(suiteInput({ rounds: 1, maxRounds: 10 })),
        arms: [arm],
        outDir: path.join(scratch, 'budget'),
        budgetMinutes: 0.001,
        moreRounds: () => {
          asked++;
          return 5;
        },
      },
      deps(
        scriptedDrivers(
          { countThroughProxy: true, unavailable: ['mysqlslap'] },
          new Map([[arm.port, arm.metricsPort]]),
          [],
        ),
      ),
    );
    assert.equal(asked, 0, 'a budget of 60 ms leaves no time for a round');
    assert.equal(outcome.results.workloads[0]!.samples.length, 2, 'the planned round still runs');
  });

  test('the traffic check fails a run whose queries did not go through the proxy', async () => {
    const arm = await fakeProxyArm();
    const outDir = path.join(scratch, 'bypass');
    // Through the gate, which writes report.md on every path.
    await assert.rejects(
      runGate(
        {
          mysql: target(),
          suite: SuiteSchema.parse(suiteInput()),
          arms: [arm],
          outDir,
          reference: { kind: 'none' },
        },
        deps(scriptedDrivers({ countThroughProxy: false }, new Map([[arm.port, arm.metricsPort]]), [])),
      ),
      (error: Error) => {
        assert.ok(error instanceof InfrastructureError);
        assert.match(
          error.message,
          /traffic check failed: the proxy saw 0 of 1000 queries — the benchmark did not go through it/,
        );
        return true;
      },
    );
    const results = ResultsSchema.parse(JSON.parse(readFileSync(path.join(outDir, 'results.json'), 'utf8')));
    assert.equal(results.status, 'failed');
    assert.match(results.failure!, /traffic check failed/);
    assert.match(readFileSync(path.join(outDir, 'report.md'), 'utf8'), /The run FAILED/);
    assert.deepEqual(processesMentioning(fakeProxyFile), []);
  });

  test('with the traffic check switched off the same run passes', async () => {
    const arm = await fakeProxyArm();
    const outcome = await runBenchmark(
      {
        mysql: target(),
        suite: SuiteSchema.parse(suiteInput()),
        arms: [arm],
        outDir: path.join(scratch, 'nocheck'),
        trafficCheck: false,
      },
      deps(scriptedDrivers({ countThroughProxy: false }, new Map([[arm.port, arm.metricsPort]]), [])),
    );
    assert.equal(outcome.results.status, 'complete');
  });

  test('a proxy that dies mid-run fails the run with its log tail', async () => {
    const arm = await fakeProxyArm(
      (port, metricsPort) =>
        `node ${fakeProxyFile} ${port} ${metricsPort} & sleep 1.5; echo "boom: proxy crashed"; kill -9 $!`,
    );
    const outDir = path.join(scratch, 'crash');
    const started = Date.now();
    await assert.rejects(
      runBenchmark(
        { mysql: target(), suite: SuiteSchema.parse(suiteInput({ rounds: 50 })), arms: [arm], outDir },
        deps(
          scriptedDrivers(
            { countThroughProxy: true, runMs: 300 },
            new Map([[arm.port, arm.metricsPort]]),
            [],
          ),
        ),
      ),
      (error: Error) => {
        assert.match(error.message, /arm "proxy" exited (during|while)/);
        assert.match(error.message, /boom: proxy crashed/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 20_000);
    assert.equal(JSON.parse(readFileSync(path.join(outDir, 'results.json'), 'utf8')).status, 'failed');
    assert.deepEqual(processesMentioning(fakeProxyFile), []);
  });

  test('a proxy that never becomes ready fails within its ready timeout, and is killed', async () => {
    const port = await findFreePort();
    const outDir = path.join(scratch, 'never');
    const marker = `sleep 600${port % 10}`;
    const started = Date.now();
    await assert.rejects(
      runBenchmark(
        {
          mysql: target(),
          suite: SuiteSchema.parse(suiteInput()),
          arms: [
            {
              name: 'proxy',
              role: 'proxy',
              start: `echo waiting for nothing; ${marker}`,
              port,
              cwd: scratch,
              trafficCheck: true,
              readyTimeoutMs: 1500,
            },
          ],
          outDir,
        },
        deps(scriptedDrivers({ countThroughProxy: true }, new Map(), [])),
      ),
      (error: Error) => {
        assert.match(error.message, /arm "proxy" was not ready within 2 s/);
        assert.match(error.message, /waiting for nothing/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 15_000);
    assert.ok(existsSync(path.join(outDir, 'results.json')));
    assert.deepEqual(processesMentioning(marker), []);
  });

  test('a proxy port that something already answers on (here: MySQL itself) is refused', async () => {
    await assert.rejects(
      runBenchmark(
        {
          mysql: target(),
          suite: SuiteSchema.parse(suiteInput()),
          arms: [
            {
              name: 'proxy',
              role: 'proxy',
              start: 'sleep 30',
              port: server.port,
              cwd: scratch,
              trafficCheck: false,
            },
          ],
          outDir: path.join(scratch, 'taken'),
        },
        deps(scriptedDrivers({ countThroughProxy: true }, new Map(), [])),
      ),
      /arm "proxy": 127\.0\.0\.1:\d+ is already in use before the proxy started/,
    );
  });

  test('an abort signal stops the run, cleans up and fails it', async () => {
    const arm = await fakeProxyArm();
    const controller = new AbortController();
    const log: string[] = [];

    await assert.rejects(
      runBenchmark(
        {
          mysql: target(),
          suite: SuiteSchema.parse(suiteInput({ rounds: 100 })),
          arms: [arm],
          outDir: path.join(scratch, 'abort'),
          signal: controller.signal,
        },
        deps(
          scriptedDrivers(
            {
              countThroughProxy: true,
              runMs: 200,
              onRun: () => setTimeout(() => controller.abort('SIGINT'), 50),
            },
            new Map([[arm.port, arm.metricsPort]]),
            log,
          ),
        ),
      ),
      /interrupted \(SIGINT\)/,
    );
    assert.ok(log.includes('cleanup rw'));
    assert.deepEqual(processesMentioning(fakeProxyFile), []);
  });
});
