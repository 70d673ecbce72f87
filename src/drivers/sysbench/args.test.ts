import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { InfrastructureError } from '../../util/errors.ts';
import { WorkloadSchema } from '../../suite/schema.ts';
import type { Exec, ExecOptions, ExecResult } from '../../util/exec.ts';
import type { DriverContext } from '../types.ts';
import { createSysbenchDriver, type SysbenchWorkload } from './driver.ts';
import { sysbenchPasswordLine } from './passwordFile.ts';
import { fixtureOf } from '../../../test/helpers/fixtures.ts';

// The command lines the driver builds, checked with a recording exec that answers with verbatim
// outputs (test/fixtures/sysbench): what a 1.1 binary gets cannot be run on this machine.

const fixture = fixtureOf('sysbench');

interface Call {
  command: string;
  args: readonly string[];
  options?: ExecOptions;
}

function scriptedExec(version: string, runOutput: string, runExit = 0): { exec: Exec; calls: Call[] } {
  const calls: Call[] = [];
  const exec: Exec = (command, args, options) => {
    calls.push({ command, args, options });
    const result = (stdout: string, exitCode = 0): ExecResult => ({
      exitCode,
      signal: null,
      stdout,
      stderr: '',
      durationMs: 1,
    });
    if (args[0] === '--version') return Promise.resolve(result(`${version}\n`));
    if (args.at(-1) === 'run') {
      for (const line of runOutput.split('\n')) options?.onStdoutLine?.(line);
      return Promise.resolve(result(runOutput, runExit));
    }
    return Promise.resolve(result(''));
  };
  return { exec, calls };
}

const driver = createSysbenchDriver({ find: (name) => `/usr/bin/${name}` });

function workload(
  common: Record<string, unknown> = {},
  options: Record<string, unknown> = {},
): SysbenchWorkload {
  const w = WorkloadSchema.parse({
    id: 'rw',
    title: 'rw',
    driver: 'sysbench',
    threads: 16,
    ...common,
    options: { test: 'oltp_read_write', timeSec: 8, ...options },
  });
  assert.ok(w.driver === 'sysbench');
  return w;
}

const ctx = (exec: Exec, extra: Partial<DriverContext> = {}): DriverContext => ({
  target: { host: 'db.example', port: 3307, user: 'bench', password: 's3cret-pw', database: 'test' },
  exec,
  ...extra,
});

test("run: the performance-testing guide's command line plus percentile, ps-mode and histogram", async () => {
  const { exec, calls } = scriptedExec('sysbench 1.0.20', fixture('1.0.20-system-oltp_read_write.txt'));
  const run = await driver.run(
    workload({}, { psMode: 'disable', extraArgs: ['--rand-type=uniform'] }),
    ctx(exec),
  );
  assert.equal(calls.length, 2);
  assert.match(calls[1]!.args[1]!, /^--config-file=\/.+\/sysbench\.cfg$/);
  assert.deepEqual(calls[1]!.args, [
    'oltp_read_write',
    calls[1]!.args[1],
    '--db-driver=mysql',
    '--mysql-host=db.example',
    '--mysql-port=3307',
    '--mysql-user=bench',
    '--mysql-db=test',
    '--tables=4',
    '--table-size=10000',
    '--threads=16',
    '--time=8',
    '--events=0',
    '--report-interval=1',
    '--percentile=95',
    '--db-ps-mode=disable',
    '--histogram=on',
    '--rand-type=uniform',
    'run',
  ]);
  assert.equal(calls[1]!.command, '/usr/bin/sysbench');
  assert.equal(calls[1]!.options?.timeoutMs, (8 + 60) * 1000);
  assert.equal(run.metrics.tps, 835.69);
});

test('warmup on 1.0.x: a separate discarded run of warmupSec before the measured one', async () => {
  const { exec, calls } = scriptedExec(
    'sysbench 1.0.20 (using bundled LuaJIT 2.1.0-beta2)',
    fixture('1.0.20-bundled-oltp_read_write.txt'),
  );
  const progress: number[] = [];
  const run = await createSysbenchDriver({ find: (n) => n }).run(
    workload({ warmupSec: 3 }),
    ctx(exec, { onProgress: (p) => progress.push(p.elapsedSec) }),
    { durationSec: 5 },
  );
  const runs = calls.filter((c) => c.args.at(-1) === 'run');
  assert.equal(runs.length, 2);
  assert.ok(runs[0]!.args.includes('--time=3') && !runs[0]!.args.includes('--histogram=on'));
  assert.ok(runs[1]!.args.includes('--time=5') && runs[1]!.args.includes('--histogram=on'));
  assert.ok(!runs[1]!.args.some((a) => a.startsWith('--warmup-time')));
  // Progress comes from the measured run only.
  assert.deepEqual(progress, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  assert.match(run.rawOutput, /^# warmup run \(discarded\)/);
});

test('warmup on 1.1: --warmup-time in the measured run; the "Throughput:" report parses', async () => {
  const { exec, calls } = scriptedExec(
    'sysbench 1.1.0-faaff4f (using bundled LuaJIT 2.1.0-beta3)',
    fixture('1.1-throughput-oltp_read_write.txt'),
  );
  const run = await createSysbenchDriver({ find: (n) => n }).run(workload({ warmupSec: 3 }), ctx(exec));
  const runs = calls.filter((c) => c.args.at(-1) === 'run');
  assert.equal(runs.length, 1);
  assert.ok(runs[0]!.args.includes('--warmup-time=3'));
  assert.equal(runs[0]!.options?.timeoutMs, (8 + 3 + 60) * 1000);
  assert.equal(run.metrics.tps, 4938.82);
});

test('detection runs --version once per exec', async () => {
  const { exec, calls } = scriptedExec('sysbench 1.0.20', fixture('1.0.20-system-oltp_read_write.txt'));
  const d = createSysbenchDriver({ find: (n) => n });
  await d.run(workload(), ctx(exec));
  await d.run(workload(), ctx(exec));
  assert.equal(calls.filter((c) => c.args[0] === '--version').length, 1);
});

test('prepare drops leftovers first, then prepares with up to 4 threads', async () => {
  const { exec, calls } = scriptedExec('sysbench 1.0.20', '');
  await driver.prepare(workload({}, { tables: 8, tableSize: 100 }), ctx(exec));
  const commands = calls.filter((c) => c.args[0] !== '--version').map((c) => [c.args.at(-1), c.args.at(-2)]);
  assert.deepEqual(commands, [
    ['cleanup', '--threads=4'],
    ['prepare', '--threads=4'],
  ]);
});

test('a FATAL output with a non-zero exit names the FATAL lines, without the password', async () => {
  const fatal = fixture('1.0.20-system-fatal-access-denied.txt');
  const { exec } = scriptedExec('sysbench 1.0.20', fatal, 1);
  await assert.rejects(driver.run(workload(), ctx(exec)), (error: unknown) => {
    assert.ok(error instanceof InfrastructureError);
    assert.match(error.message, /^sysbench failed: FATAL: unable to connect/);
    assert.ok(!error.message.includes('s3cret-pw'));
    return true;
  });
});

test('a non-zero exit with a complete report still fails', async () => {
  const { exec } = scriptedExec('sysbench 1.0.20', fixture('1.0.20-system-oltp_read_write.txt'), 2);
  await assert.rejects(driver.run(workload(), ctx(exec)), /sysbench oltp_read_write run failed \(exit 2/);
});

test('a --version that prints no version makes sysbench unavailable', async () => {
  const { exec } = scriptedExec('something else', '');
  const d = createSysbenchDriver({ find: (n) => n });
  const detection = await d.detect(exec);
  assert.equal(detection.available, false);
  await assert.rejects(d.run(workload(), ctx(exec)), /sysbench is not available/);
});

test('the password is in a 0600 config file while sysbench runs, never in its arguments', async () => {
  const seen: Array<{ args: readonly string[]; file: string; mode: number; contents: string }> = [];
  const { exec: scripted } = scriptedExec('sysbench 1.0.20', fixture('1.0.20-system-oltp_read_write.txt'));
  const exec: Exec = (command, args, options) => {
    const file = args.find((a) => a.startsWith('--config-file='))?.slice('--config-file='.length);
    if (file) {
      seen.push({ args, file, mode: statSync(file).mode & 0o777, contents: readFileSync(file, 'utf8') });
    }
    return scripted(command, args, options);
  };
  await driver.prepare(workload(), ctx(exec));
  await driver.run(workload(), ctx(exec));
  await driver.cleanup(workload(), ctx(exec));
  assert.equal(seen.length, 4, 'cleanup + prepare, run, cleanup each get the file');
  for (const call of seen) {
    assert.ok(!call.args.some((a) => a.includes('s3cret-pw')), call.args.join(' '));
    assert.equal(call.mode, 0o600);
    assert.equal(call.contents, "mysql-password='s3cret-pw'\n");
    assert.equal(existsSync(call.file), false, 'removed once sysbench exited');
  }
});

test('passwords are quoted so sysbench reads them whole; one it cannot read is refused', () => {
  assert.equal(sysbenchPasswordLine('a b,c#d'), "mysql-password='a b,c#d'\n");
  assert.equal(sysbenchPasswordLine("it's"), `mysql-password="it's"\n`);
  assert.equal(sysbenchPasswordLine(''), "mysql-password=''\n");
  assert.throws(() => sysbenchPasswordLine(`both ' and "`), /cannot be passed/);
  assert.throws(() => sysbenchPasswordLine('line\nbreak'), /cannot be passed/);
  assert.throws(() => sysbenchPasswordLine('x'.repeat(2000)), /cannot be passed/);
});
