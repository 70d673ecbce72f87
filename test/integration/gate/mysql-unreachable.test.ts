// The gate never passes when MySQL is unreachable: exit 3 and a line naming MySQL and its address,
// without the password. --mysql-ready-timeout shortens the engine's 60 s wait for a starting server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { findFreePort } from '../../../src/util/net.ts';
import { runCli } from '../../helpers/cli.ts';
import { causeLine, gateSkip, startGateBench, type GateBench } from '../../helpers/gate.ts';

let bench: GateBench;

before(async () => {
  if (gateSkip.skip === false) bench = await startGateBench();
});

after(async () => {
  await bench?.close();
});

test('MySQL unreachable: exit 3, the cause names MySQL and its address, no password', gateSkip, async () => {
  const port = await findFreePort();
  const out = path.join(bench.scratch, 'unreachable');
  const password = 'Unreach4bleSecret';
  const result = await runCli([
    'run',
    '--mysql',
    `mysql://root:${password}@127.0.0.1:${port}/test`,
    '--suite',
    bench.suiteFile('unreachable', 1, 1),
    '--no-baseline',
    '--mysql-ready-timeout',
    '3',
    '--out',
    out,
  ]);
  assert.equal(result.code, 3, result.stderr);
  causeLine(
    result.stderr,
    new RegExp(`(MySQL|server).*127\\.0\\.0\\.1:${port}|127\\.0\\.0\\.1:${port}.*(MySQL|server)`, 'i'),
  );
  assert.ok(!`${result.stdout}${result.stderr}`.includes(password), 'the password was printed');
});
