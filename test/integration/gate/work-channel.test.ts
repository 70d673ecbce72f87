// The work channel end to end: this repo's Athena under callgrind, base and head at the same time,
// a count-based cost injected into the head; and the fallback when valgrind is missing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { driverFor } from '../../../src/drivers/index.ts';
import { runBenchmark } from '../../../src/engine/run.ts';
import { InfrastructureError } from '../../../src/util/errors.ts';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { metricSamples } from '../../../src/results/schema.ts';
import { median } from '../../../src/model/stats.ts';
import { SuiteSchema } from '../../../src/suite/schema.ts';
import { realExec } from '../../../src/util/exec.ts';
import { compareArms } from '../../../src/verdict/compare.ts';
import { renderComparisonMarkdown } from '../../../src/report/comparison.ts';
import { renderMeasurementReport } from '../../../src/report/markdown.ts';
import { detectCallgrind } from '../../../src/work/valgrind.ts';
import { athenaWithEnv, engineDeps } from '../../helpers/engine.ts';
import { ensureProxyBundle, REPO_ROOT as repoRoot } from '../../helpers/proxy.ts';

let server: LocalServer | undefined;
let outDir: string;
let missing: string | null = null;

before(async () => {
  const sysbench = await driverFor('sysbench').detect(realExec);
  const callgrind = await detectCallgrind(realExec);
  missing = !sysbench.available ? 'sysbench' : !callgrind.available ? 'valgrind' : null;
  if (missing) return;
  await ensureProxyBundle();
  server = await startLocalServer();
  outDir = await mkdtemp(path.join(os.tmpdir(), 'work-channel-'));
});
after(async () => {
  await server?.stop();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

/**
 * Windows of 2,000 point selects (small windows carry a login and a share of GC and JIT work each,
 * so they are only good for large changes like the injected one); 6 kept windows per arm reach
 * significance over both channels' gated metrics (6 vs 6: p = 0.002 <= 0.05 / 7).
 */
const suite = SuiteSchema.parse({
  name: 'work-smoke',
  rounds: 1,
  work: { threads: 1, windows: 6, tolerancePct: 2, maxWindows: 12 },
  workloads: [
    {
      id: 'select',
      title: 'Select',
      driver: 'sysbench',
      threads: 4,
      options: { test: 'oltp_point_select', tables: 1, tableSize: 100, timeSec: 1 },
      work: { events: 2000 },
    },
  ],
});

function v8LogsIn(dir: string): string[] {
  return readdirSync(dir).filter((name) => /^isolate-.*-v8\.log$/.test(name));
}

test('base and head under callgrind at once, then timed: an injected cost per query is counted and located', async (t) => {
  if (missing || !server) {
    t.skip(`${missing} is not installed`);
    return;
  }
  const v8LogsBefore = v8LogsIn(repoRoot);
  const { results } = await runBenchmark(
    {
      mysql: { ...server, database: server.database },
      suite,
      arms: [
        athenaWithEnv('proxy', 'proxy', { ATHENA_TEST_SPIN_LOOPS_PER_QUERY: '3000' }),
        athenaWithEnv('base', 'base', {}),
      ],
      outDir: path.join(outDir, 'ab'),
      repoRoot,
      measure: 'both',
      durationSec: 1,
    },
    engineDeps(),
  );
  assert.equal(results.measure, 'both');
  // V8's event log, opened by --perf-basic-prof, goes to the run's directory, not the checkout.
  assert.deepEqual(v8LogsIn(repoRoot), v8LogsBefore);
  const w = results.workloads[0]!;
  // The timed round starts the arms again on the ports the work channel's processes just left.
  assert.deepEqual(w.samples.map((s) => s.arm).sort(), ['base', 'direct', 'proxy']);
  const head = metricSamples(w, 'proxy', 'instructions_per_query');
  const base = metricSamples(w, 'base', 'instructions_per_query');
  assert.ok(head.length >= 5 && base.length >= 5, `windows kept: ${head.length}, ${base.length}`);
  // The loop roughly doubles a point select's instructions; a JIT or GC window may still sit in
  // the kept ones, so the medians, not every window, must show it.
  assert.ok(median(head) > 1.5 * median(base), `head ${head.join()} vs base ${base.join()}`);
  // One forwarded command per point select (plus the windows' own logins and resets).
  for (const trips of metricSamples(w, 'base', 'backend_round_trips_per_query')) {
    assert.ok(trips >= 1 && trips < 1.1, `round trips per query ${trips}`);
  }
  assert.ok(metricSamples(w, 'base', 'syscalls_per_query').every((s) => s > 2));

  const comparison = compareArms(results, 'proxy', 'base');
  const instructions = comparison.workloads[0]!.metrics.find((m) => m.metric === 'instructions_per_query');
  assert.equal(instructions?.verdict, 'regressed');
  assert.equal(comparison.verdict, 'regressed');
  const grew = comparison.functionDeltas.select?.[0];
  // The injected loop, or forward() where V8 inlined it: either names the place that grew.
  assert.match(
    grew?.name ?? '',
    /^JS (spin|forward) \(athena\.js\)$/,
    'the function that grew most holds the loop',
  );
  assert.ok(grew!.delta > 10_000, `it grew by ${grew!.delta} instructions per query`);
  assert.match(renderComparisonMarkdown(comparison), /Where the instructions went[\s\S]*(spin|forward)/);
  assert.match(renderMeasurementReport(results), /## Work per query/);
  const profile = w.work!.arms.proxy!.profile!;
  assert.match(await readFile(path.join(outDir, 'ab', profile), 'utf8'), /^fn=JS:\*?(spin|forward) /m);
});

test('without valgrind: --measure work fails naming the package, both measures time with a warning', async (t) => {
  if (!server) {
    t.skip(`${missing} is not installed`);
    return;
  }
  const noValgrind = engineDeps({
    detectCallgrind: async () => ({
      available: false,
      reason: 'valgrind not found on PATH',
      installHint: '`sudo apt-get install -y valgrind`',
    }),
  });
  const options = {
    mysql: { ...server, database: server.database },
    suite: { ...suite, rounds: 1 },
    arms: [athenaWithEnv('proxy', 'proxy', {})],
    durationSec: 1,
    repoRoot,
  };
  await assert.rejects(
    runBenchmark({ ...options, outDir: path.join(outDir, 'work-only'), measure: 'work' }, noValgrind),
    (error: unknown) =>
      error instanceof InfrastructureError && /apt-get install -y valgrind/.test(error.message),
  );
  const { results } = await runBenchmark(
    { ...options, outDir: path.join(outDir, 'both'), measure: 'both' },
    noValgrind,
  );
  assert.equal(results.measure, 'time');
  assert.ok(results.warnings.some((w) => /work channel .* did not run: valgrind not found/.test(w)));
  assert.ok(results.workloads[0]!.samples.length > 0);
});
