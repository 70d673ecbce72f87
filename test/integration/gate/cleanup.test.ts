// The gate never passes by accident, part 2: MySQL dying mid-run fails the run (exit 3) with the
// cause, and SIGTERM mid-run (cli-sigint covers SIGINT) leaves no process or temp dir behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  benchTempDirs,
  expectNoProcesses,
  privateTmp,
  processesMentioning,
  startCli,
} from '../../helpers/cli.ts';
import { causeLine, gateSkip, startGateBench, type GateBench } from '../../helpers/gate.ts';

let bench: GateBench;

before(async () => {
  if (gateSkip.skip === false) bench = await startGateBench();
});

after(async () => {
  await bench?.close();
});

test(
  'MySQL dies mid-run: exit 3, the cause names the failure; then it is restarted for the next tests',
  gateSkip,
  async () => {
    const out = path.join(bench.scratch, 'mysql-dies');
    const cli = startCli(bench.runArgs('mysqldies', out, 3, 20));
    await cli.waitForStderr(/round 1\/3/, 90_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await bench.server.kill();
    const result = await cli.done;
    await bench.server.restart();
    assert.equal(result.code, 3, result.stderr);
    causeLine(result.stderr, /sysbench|MySQL|server|connection/i);
    assert.deepEqual(await expectNoProcesses([out]), []);
  },
);

test(
  'SIGTERM mid-run: exit 143, the proxy and sysbench are stopped, no temp dir is left',
  gateSkip,
  async () => {
    const out = path.join(bench.scratch, 'sigterm');
    const tmp = privateTmp(bench.scratch);
    const cli = startCli(bench.runArgs('sigterm', out, 5, 20), { TMPDIR: tmp });
    await cli.waitForStderr(/round 1\/5/, 90_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    cli.child.kill('SIGTERM');
    const result = await cli.done;
    assert.equal(result.code, 143, result.stderr);
    assert.deepEqual(await expectNoProcesses([tmp, out]), []);
    assert.deepEqual(benchTempDirs(tmp), []);
    assert.deepEqual(
      processesMentioning([`--mysql-port=`]).filter((p) => p.includes('sysbench') && p.includes('sigterm')),
      [],
    );
  },
);
