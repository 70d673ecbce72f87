// Regression test for a bug the reliability tests found: `athena-bench compare` exited 0 for a
// results.json whose status is "failed" (a run that crashed part-way), a pass on data not to be trusted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { baselineCommand, compareCommand, type CommandIO } from '../src/verdict/commands.ts';
import { armsFor, makeResults } from './verdict-fixtures.ts';

let dir: string;
let goodResults: string;
let goodText: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gate-files-'));
  goodText = JSON.stringify(
    makeResults({ workloads: [{ id: 'rw', arms: armsFor(6, { tps: 1000, seed: 3 }) }] }),
    null,
    2,
  );
  goodResults = path.join(dir, 'good.results.json');
  await writeFile(goodResults, goodText);
  const sink = io();
  assert.equal(
    await baselineCommand(['--results', goodResults, '--out', 'good.baseline.json'], sink),
    0,
    sink.err,
  );
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function io(): CommandIO & { out: string; err: string } {
  const sink = {
    out: '',
    err: '',
    stdout: (s: string) => void (sink.out += s),
    stderr: (s: string) => void (sink.err += s),
    env: {},
    cwd: '',
  };
  sink.cwd = dir;
  return sink;
}

function edited(mutate: (r: Record<string, unknown>) => void): string {
  const r = JSON.parse(goodText) as Record<string, unknown>;
  mutate(r);
  return JSON.stringify(r);
}

test('a results file of a failed run never passes a comparison', async () => {
  await writeFile(
    path.join(dir, 'failed.results.json'),
    edited((r) => {
      r.status = 'failed';
      r.failure = 'arm "proxy" exited during a run';
    }),
  );
  const c = io();
  const code = await compareCommand(
    ['--baseline', 'good.baseline.json', '--results', 'failed.results.json'],
    c,
  );
  assert.notEqual(code, 0, `a failed run compared as a pass:\n${c.out}`);
});
