// The work channel on a proxy that is not Node: haproxy (C, two threads, recv/send rather than
// read/write) given by --proxy-start, its port and backend taken from the gate's environment.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { driverFor } from '../../../src/drivers/index.ts';
import { metricSamples } from '../../../src/results/schema.ts';
import { realExec } from '../../../src/util/exec.ts';
import { findFreePort } from '../../../src/util/net.ts';
import { median } from '../../../src/model/stats.ts';
import { which } from '../../../src/util/which.ts';
import { detectCallgrind } from '../../../src/work/valgrind.ts';
import {
  expectNoProcesses,
  readResults,
  runCli,
  startMysqlScratch,
  type MysqlScratch,
} from '../../helpers/cli.ts';

let fixture: MysqlScratch | undefined;
let missing: string | null = null;

before(async () => {
  const sysbench = await driverFor('sysbench').detect(realExec);
  const callgrind = await detectCallgrind(realExec);
  missing = !sysbench.available
    ? 'sysbench'
    : !callgrind.available
      ? 'valgrind'
      : !which('haproxy')
        ? 'haproxy'
        : null;
  if (!missing) fixture = await startMysqlScratch('work-haproxy-');
});
after(() => fixture?.stop());

/** haproxy 2.x expands "${VAR}" in quoted config words: one file serves every arm. */
const HAPROXY_CONFIG = [
  'global',
  '  nbthread 2',
  'defaults',
  '  mode tcp',
  '  timeout connect 5s',
  '  timeout client 1h',
  '  timeout server 1h',
  'frontend mysql_in',
  '  bind "127.0.0.1:${ATHENA_BENCH_PROXY_PORT}"',
  '  default_backend mysql_out',
  'backend mysql_out',
  '  server mysql "${ATHENA_BENCH_MYSQL_HOST}:${ATHENA_BENCH_MYSQL_PORT}"',
  '',
].join('\n');

/** Windows of 2,000 point selects: haproxy under callgrind does one in about half a second. */
function writeSuite(dir: string): string {
  const file = path.join(dir, 'work-haproxy.json');
  const workload = {
    id: 'select',
    title: 'Select',
    driver: 'sysbench',
    threads: 1,
    options: { test: 'oltp_point_select', tables: 1, tableSize: 100, timeSec: 1 },
    work: { events: 2000 },
  };
  const suite = {
    name: 'work-haproxy',
    rounds: 1,
    work: { threads: 1, windows: 4, maxWindows: 10 },
    workloads: [workload],
  };
  writeFileSync(file, JSON.stringify(suite));
  return file;
}

test('haproxy under callgrind: every system call counted by name, threads counted, C functions named', async (t) => {
  if (missing || !fixture) {
    t.skip(`${missing} is not installed`);
    return;
  }
  const { scratch, mysqlUrl } = fixture;
  const cfg = path.join(scratch, 'haproxy.cfg');
  writeFileSync(cfg, HAPROXY_CONFIG);
  const out = path.join(scratch, 'run');
  const result = await runCli([
    'run',
    '--mysql',
    mysqlUrl,
    '--suite',
    writeSuite(scratch),
    '--no-baseline',
    '--measure',
    'work',
    '--proxy-start',
    `haproxy -db -f ${cfg}`,
    '--proxy-port',
    String(await findFreePort()),
    '--no-traffic-check',
    '--out',
    out,
  ]);
  assert.equal(result.code, 0, result.stderr);
  const results = readResults(out);
  const w = results.workloads[0]!;
  const arm = w.work!.arms.proxy!;
  assert.ok(
    arm.settled,
    `instructions per query settled: ${arm.windows.map((x) => x.instructions / x.queries).join()}`,
  );

  // Per point select haproxy waits for, receives and sends a packet on each side.
  const calls = new Map(arm.topSyscalls.map((c) => [c.name, c]));
  for (const name of ['epoll_wait', 'recv', 'send']) {
    assert.ok((calls.get(name)?.perQuery ?? 0) >= 1.9, `${name}: ${JSON.stringify(arm.topSyscalls)}`);
  }
  const counted = arm.topSyscalls.filter((c) => !c.clockRead).reduce((s, c) => s + c.perQuery, 0);
  const syscalls = median(metricSamples(w, 'proxy', 'syscalls_per_query'));
  assert.ok(Math.abs(counted - syscalls) < 0.05 * syscalls, `by name ${counted}, in all ${syscalls}`);
  // Its clock reads (vDSO calls natively) are kept apart, not in the count.
  assert.ok(arm.topSyscalls.some((c) => c.clockRead && c.perQuery >= 1));
  // recv and send are not in /proc's read/write family: what that count saw of haproxy.
  assert.ok(arm.windows.every((x) => x.syscalls / x.queries < 0.1));
  assert.ok(
    arm.windows.every((x) => (x.threads ?? 0) >= 2),
    'both of its threads are seen',
  );

  const named = arm.topFunctions.filter((f) => /haproxy$/.test(f.object) && !/^0x/.test(f.name));
  assert.ok(
    named.length >= 5,
    `haproxy's own functions by name: ${JSON.stringify(arm.topFunctions.slice(0, 8))}`,
  );

  const report = readFileSync(path.join(out, 'report.md'), 'utf8');
  assert.match(report, /## Work per query[\s\S]*\| Select \| proxy \| [\d,]+ ±[\d.]+% \| \d\.\d\d/);
  assert.match(report, /Select · proxy: .*epoll_wait \d\.\d\d/);
  assert.deepEqual(await expectNoProcesses([cfg]), []);
});
