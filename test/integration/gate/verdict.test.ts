// End to end: a real MariaDB, this repo's proxy started three times (base, a slowed-down head, and
// an identical twin of base), sysbench point selects through each, interleaved in one run. The
// head's injected slowdown must be caught and the twin (an A/A comparison) must not be.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { driverFor } from '../../../src/drivers/index.ts';
import { runBenchmark } from '../../../src/engine/run.ts';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { SuiteSchema } from '../../../src/suite/schema.ts';
import { realExec } from '../../../src/util/exec.ts';
import { compareArms } from '../../../src/verdict/compare.ts';
import { athenaWithEnv, engineDeps } from '../../helpers/engine.ts';
import { ensureProxyBundle, REPO_ROOT as repoRoot } from '../../helpers/proxy.ts';

let server: LocalServer | undefined;
let outDir: string;
let sysbench = false;

before(async () => {
  sysbench = (await driverFor('sysbench').detect(realExec)).available;
  if (!sysbench) return;
  await ensureProxyBundle();
  server = await startLocalServer();
  outDir = await mkdtemp(path.join(os.tmpdir(), 'verdict-integration-'));
});
after(async () => {
  await server?.stop();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

test('an injected slowdown is caught; an A/A comparison in the same run is not', async (t) => {
  if (!sysbench || !server) {
    t.skip('sysbench is not installed');
    return;
  }
  // 5 rounds: with one workload Holm's family is its 5 gated metrics, and 5 vs 5 completely
  // separated rounds give p = 2/252 = 0.008 <= 0.05/5. The head burns 400 µs per query, several
  // times the proxy's own cost (~90 µs on the 2-core machine), so even a loaded machine separates it.
  const suite = SuiteSchema.parse({
    name: 'verdict-integration',
    rounds: 5,
    maxRounds: 5,
    workloads: [
      {
        id: 'select',
        title: 'Select',
        driver: 'sysbench',
        threads: 4,
        options: { test: 'oltp_point_select', tables: 1, tableSize: 1000, timeSec: 1 },
      },
    ],
  });
  const { results } = await runBenchmark(
    {
      mysql: { ...server, database: server.database },
      suite,
      arms: [
        athenaWithEnv('proxy', 'proxy', { ATHENA_TEST_BURN_US_PER_QUERY: '400' }),
        athenaWithEnv('base', 'base', {}),
        athenaWithEnv('twin', 'reference', {}),
      ],
      outDir,
      repoRoot,
    },
    engineDeps(),
  );
  assert.equal(results.status, 'complete');

  const slowed = compareArms(results, 'proxy', 'base');
  const cpu = slowed.workloads[0]!.metrics.find((m) => m.metric === 'cpu_us_per_query')!;
  assert.equal(
    cpu.verdict,
    'regressed',
    `CPU/query ${cpu.delta}% [${cpu.ciLow}, ${cpu.ciHigh}] p=${cpu.pAdjusted}`,
  );
  assert.equal(slowed.verdict, 'regressed');

  const aa = compareArms(results, 'twin', 'base');
  assert.notEqual(aa.verdict, 'regressed', aa.summaryLine);
});
