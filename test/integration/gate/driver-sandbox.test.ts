// The drivers run outside the checkout and without the gate's credentials: driver binaries that
// record their environment and working directory, and the real sysbench run from a checkout whose
// oltp_common.lua and test script would fail the run if they were loaded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMysqlslapDriver } from '../../../src/drivers/mysqlslap/driver.ts';
import { createSysbenchDriver } from '../../../src/drivers/sysbench/driver.ts';
import type { DriverContext } from '../../../src/drivers/types.ts';
import { WorkloadSchema, type Workload } from '../../../src/suite/schema.ts';
import { realExec } from '../../../src/util/exec.ts';
import { benchServer } from '../../helpers/drivers.ts';

const bench = benchServer();
const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures');

/** What the Action's process holds: the token, the inputs, the runner's tokens. */
const CREDENTIALS = {
  GITHUB_TOKEN: 'ghs_gate_token',
  'INPUT_GITHUB-TOKEN': 'ghs_gate_token',
  'INPUT_MYSQL-PASSWORD': 'input-password',
  ACTIONS_RUNTIME_TOKEN: 'runtime-token',
};

let tmp: string;
let checkout: string;
let startCwd: string;
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'driver-sandbox-'));
  // A pull request's checkout: Lua that fails the run if sysbench ever loads it.
  checkout = path.join(tmp, 'checkout');
  mkdirSync(checkout);
  for (const script of ['oltp_common.lua', 'oltp_point_select.lua']) {
    writeFileSync(path.join(checkout, script), `error("the checkout's ${script} ran")\n`);
  }
  startCwd = process.cwd();
  // The gate runs with the checkout as its working directory and the credentials in its environment.
  process.chdir(checkout);
  Object.assign(process.env, CREDENTIALS);
});
after(async () => {
  process.chdir(startCwd);
  for (const name of Object.keys(CREDENTIALS)) delete process.env[name];
  await rm(tmp, { recursive: true, force: true });
});

/** A driver binary that prints `version` for --version; otherwise records its cwd and env, then prints `output`. */
function recordingBinary(name: string, version: string, outputFixture: string): string {
  const bin = path.join(tmp, name);
  writeFileSync(
    bin,
    [
      '#!/bin/sh',
      `if [ "$1" = "--version" ]; then echo '${version}'; exit 0; fi`,
      `pwd > '${bin}.cwd'`,
      `env > '${bin}.env'`,
      `cat '${outputFixture}'`,
    ].join('\n') + '\n',
  );
  chmodSync(bin, 0o755);
  return bin;
}

function recorded(bin: string): { cwd: string; env: Record<string, string> } {
  const env = Object.fromEntries(
    readFileSync(`${bin}.env`, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { cwd: readFileSync(`${bin}.cwd`, 'utf8').trim(), env };
}

function assertSandboxed(bin: string, ctx: DriverContext) {
  const { cwd, env } = recorded(bin);
  assert.notEqual(cwd, checkout);
  assert.ok(!cwd.startsWith(checkout), cwd);
  assert.ok(!existsSync(cwd), `the working directory ${cwd} is removed after the run`);
  for (const name of Object.keys(CREDENTIALS)) assert.equal(env[name], undefined, name);
  for (const name of Object.keys(env)) {
    assert.doesNotMatch(name, /^(INPUT_|ACTIONS_|GITHUB_)/, `${name} reached the driver`);
  }
  assert.ok(!Object.values(env).some((v) => v.includes('ghs_gate_token')));
  assert.equal(env.PATH, process.env.PATH);
  return { cwd, env, password: ctx.target.password };
}

const parse = (w: unknown): Workload => WorkloadSchema.parse(w);

test('sysbench gets the allow-listed environment and a private working directory', async () => {
  const bin = recordingBinary(
    'sysbench',
    'sysbench 1.0.20',
    path.join(fixtures, 'sysbench/1.0.20-system-oltp_read_write.txt'),
  );
  const driver = createSysbenchDriver({ binary: bin, find: () => bin });
  const w = parse({
    id: 'rw',
    title: 'rw',
    driver: 'sysbench',
    threads: 2,
    options: { test: 'oltp_read_write', timeSec: 1 },
  });
  assert.ok(w.driver === 'sysbench');
  const ctx = bench.ctx({ exec: realExec });
  await driver.run(w, ctx);
  assertSandboxed(bin, ctx);
});

test('mysqlslap gets the allow-listed environment, MYSQL_PWD and a private working directory', async () => {
  const bin = recordingBinary(
    'mariadb-slap',
    'mariadb-slap  Ver 1.0 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)',
    path.join(fixtures, 'mysqlslap/10.11-query-guide-command.txt'),
  );
  const driver = createMysqlslapDriver({ binaries: [bin], find: () => bin });
  const w = parse({
    id: 'slap',
    title: 'slap',
    driver: 'mysqlslap',
    threads: 50,
    options: { query: 'SELECT 1', iterations: 1 },
  });
  assert.ok(w.driver === 'mysqlslap');
  const ctx = bench.ctx({ exec: realExec });
  await driver.run(w, ctx);
  const { env, password } = assertSandboxed(bin, ctx);
  assert.equal(env.MYSQL_PWD, password);
});

test('the real sysbench, run from a checkout holding oltp_common.lua, runs the installed scripts', async () => {
  // The fixture bites: sysbench started in the checkout loads the checkout's script.
  const direct = execFileSync('sh', ['-c', 'sysbench oltp_point_select help 2>&1 || true'], {
    cwd: checkout,
    encoding: 'utf8',
  });
  assert.match(direct, /the checkout's oltp_point_select\.lua ran/);

  const driver = createSysbenchDriver();
  const w = parse({
    id: 'ps',
    title: 'ps',
    driver: 'sysbench',
    threads: 1,
    options: { test: 'oltp_point_select', tables: 1, tableSize: 100, timeSec: 1 },
  });
  assert.ok(w.driver === 'sysbench');
  const ctx = bench.ctx();
  await driver.prepare(w, ctx);
  try {
    const run = await driver.run(w, ctx);
    assert.ok(run.metrics.tps > 0, run.rawOutput);
    assert.doesNotMatch(run.rawOutput, /the checkout's/);
  } finally {
    await driver.cleanup(w, ctx);
  }
});
