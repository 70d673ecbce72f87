// `run --reference athena-tls,node-pipe`: the benchmark measures an arm with TLS on the client leg
// and the bare Node pipe, next to the plain proxy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  readResults,
  runCli,
  startMysqlScratch,
  writePointSelectSuite,
  type MysqlScratch,
} from '../../helpers/cli.ts';

let fixture: MysqlScratch;

before(async () => {
  fixture = await startMysqlScratch('cli-tls-arm-');
});
after(() => fixture?.stop());

test('a TLS arm (its clients connect with TLS) and the bare Node pipe are measured next to the proxy', async () => {
  const suiteFile = writePointSelectSuite(fixture.scratch, 'tls', 1, 1);
  const out = path.join(fixture.scratch, 'tls');
  const result = await runCli([
    'run',
    '--mysql',
    fixture.mysqlUrl,
    '--suite',
    suiteFile,
    '--reference',
    'athena-tls,node-pipe',
    '--no-baseline',
    '--out',
    out,
  ]);
  assert.equal(result.code, 0, result.stderr);
  const results = readResults(out);
  const arm = results.arms.find((a) => a.name === 'athena-tls');
  assert.equal(arm?.role, 'reference');
  assert.match(arm?.config ?? '', /^tls_cert_file = /m);
  const samples = results.workloads[0]!.samples.filter((s) => s.arm === 'athena-tls');
  assert.ok(samples.length > 0 && samples.every((s) => s.metrics.errors === 0 && s.metrics.queries > 0));
  const pipe = results.workloads[0]!.samples.filter((s) => s.arm === 'node-pipe');
  assert.ok(pipe.length > 0 && pipe.every((s) => s.metrics.errors === 0 && s.metrics.queries > 0));
  // sysbench was told to use TLS (a plain server would refuse it, so the run proves the leg).
  const log = readFileSync(path.join(out, 'results.json'), 'utf8');
  assert.ok(!log.includes('BEGIN PRIVATE KEY'), 'the key stays out of the results');
  // The run's directory is what gets uploaded: no file in it holds a private key.
  const files = filesUnder(out);
  assert.ok(files.length > 3, files.join('\n'));
  for (const file of files) {
    assert.doesNotMatch(path.basename(file), /key/i, `${file} in the out dir`);
    assert.ok(!readFileSync(file, 'utf8').includes('PRIVATE KEY'), `${file} holds a private key`);
  }
  // The key the arm served with was in a temporary directory outside it, removed after the run.
  const config = arm?.config ?? '';
  const keyFile = /^tls_key_file = "(.+)"$/m.exec(config)?.[1];
  assert.ok(keyFile, config);
  assert.ok(!path.resolve(keyFile).startsWith(path.resolve(out) + path.sep), keyFile);
  assert.throws(() => statSync(keyFile), /ENOENT/, 'the key directory is removed at the end of the run');
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}
