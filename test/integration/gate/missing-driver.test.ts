// Regression test for a bug the reliability tests found: with sysbench missing every workload was
// skipped and `athena-bench run` exited 0, a pass with nothing measured.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli } from '../../helpers/cli.ts';
import { causeLine, gateSkip, startGateBench, type GateBench } from '../../helpers/gate.ts';

let bench: GateBench;

before(async () => {
  if (gateSkip.skip === false) bench = await startGateBench();
});

after(async () => {
  await bench?.close();
});

test(
  'sysbench missing from PATH: never a pass; the cause names sysbench and how to install it',
  gateSkip,
  async () => {
    const out = path.join(bench.scratch, 'missing');
    const result = await runCli(bench.runArgs('missing', out), {
      PATH: bench.pathWithout(['sysbench', 'mysqlslap', 'mariadb-slap']),
    });
    assert.notEqual(result.code, 0, `exit 0 with no driver available:\n${result.stdout}\n${result.stderr}`);
    causeLine(result.stderr, /sysbench/);
    assert.match(`${result.stdout}${result.stderr}`, /apt-get install -y sysbench|install/);
  },
);
