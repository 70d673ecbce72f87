// The gate never passes by accident: `athena-bench run` (through `npx tsx src/cli.ts`) exits 3 with a
// line naming the cause when the proxy build fails, sysbench is killed or prints output it does not
// understand. (MySQL unreachable: gate-mysql-unreachable; MySQL dying mid-run and SIGTERM:
// gate-cleanup; sysbench missing: gate-missing-driver. Covered by other files, not repeated: a proxy that crashes mid-run or never becomes ready — cli-failures; SIGINT —
// cli-sigint; the traffic check — cli-run-mysql.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { which } from '../../../src/util/which.ts';
import { expectNoProcesses, processesMentioning, runCli, startCli } from '../../helpers/cli.ts';
import { causeLine, gateSkip, startGateBench, type GateBench } from '../../helpers/gate.ts';

let bench: GateBench;

before(async () => {
  if (gateSkip.skip === false) bench = await startGateBench();
});

after(async () => {
  await bench?.close();
});

test('the proxy build fails: exit 3, the cause names the build and shows its output', gateSkip, async () => {
  const out = path.join(bench.scratch, 'build');
  const result = await runCli([
    ...bench.runArgs('build', out),
    '--proxy-build',
    'echo "test: compiler exploded" >&2; exit 7',
  ]);
  assert.equal(result.code, 3, result.stderr);
  causeLine(result.stderr, /build/i);
  assert.match(result.stderr, /test: compiler exploded/);
  assert.deepEqual(await expectNoProcesses([out]), []);
});

test(
  'sysbench prints output it does not understand: exit 3 naming sysbench, never zeros',
  gateSkip,
  async () => {
    const fakeDir = path.join(bench.scratch, 'fake-sysbench');
    mkdirSync(fakeDir, { recursive: true });
    const real = which('sysbench')!;
    // Real prepare/cleanup and --version; `run` prints garbage and exits 0.
    writeFileSync(
      path.join(fakeDir, 'sysbench'),
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = run ] && { echo "Segmentation fault in lua_state (garbage)"; echo "tps: banana"; exit 0; }; done\nexec ${real} "$@"\n`,
    );
    chmodSync(path.join(fakeDir, 'sysbench'), 0o755);
    const out = path.join(bench.scratch, 'garbage');
    const result = await runCli(bench.runArgs('garbage', out), {
      PATH: `${fakeDir}:${process.env.PATH ?? ''}`,
    });
    assert.equal(result.code, 3, result.stderr);
    causeLine(result.stderr, /sysbench/i);
  },
);

test('sysbench killed mid-run: exit 3 naming sysbench', gateSkip, async () => {
  const out = path.join(bench.scratch, 'killed');
  const cli = startCli(bench.runArgs('killed', out, 3, 20));
  await cli.waitForStderr(/round 1\/3/, 90_000);
  // Kill the sysbench `run` of this test (it connects to a port only this run uses, or to our server).
  let killed = 0;
  const deadline = Date.now() + 30_000;
  while (killed === 0 && Date.now() < deadline) {
    for (const entry of processesMentioning([' run'])) {
      const [pid, cmd] = [Number(entry.split(':')[0]), entry];
      if (
        /sysbench/.test(cmd) &&
        /oltp_point_select/.test(cmd) &&
        cmd.includes(`--mysql-db=`) &&
        !cmd.includes('prepare')
      ) {
        if (cmd.includes(String(bench.server.port)) || (await isChildOf(pid, cli.child.pid!))) {
          process.kill(pid, 'SIGKILL');
          killed++;
        }
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.ok(killed > 0, 'found no sysbench run to kill');
  const result = await cli.done;
  assert.equal(result.code, 3, result.stderr);
  causeLine(result.stderr, /sysbench/i);
  assert.deepEqual(await expectNoProcesses([out]), []);
});

async function isChildOf(pid: number, ancestor: number): Promise<boolean> {
  let current = pid;
  for (let i = 0; i < 10 && current > 1; i++) {
    const stat = spawnSync('ps', ['-o', 'ppid=', '-p', String(current)], { encoding: 'utf8' }).stdout.trim();
    current = Number(stat);
    if (current === ancestor) return true;
  }
  return false;
}
