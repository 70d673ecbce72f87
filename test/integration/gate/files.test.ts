// The gate never passes on a results or baseline file it should not trust: truncated, of another
// schemaVersion, hand-edited to nonsense: `compare` and `baseline` exit 2 with a line naming the file; a results
// file of a failed run exits 3 (a regression test: `compare` once exited 0 for it).
// (V's verdict-commands test covers a baseline of schemaVersion 0, one without a median, and one
// that is not JSON: not repeated here.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type CommandIO } from '../../../src/cli/flags.ts';
import { baselineCommand, compareCommand } from '../../../src/cli/verdict.ts';
import { armsFor, makeResults } from '../../helpers/results.ts';
import { runCli } from '../../helpers/cli.ts';
import { captureIO } from '../../helpers/io.ts';

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

const io = (): CommandIO & { out: string; err: string } => captureIO(dir);

function edited(mutate: (r: Record<string, unknown>) => void): string {
  const r = JSON.parse(goodText) as Record<string, unknown>;
  mutate(r);
  return JSON.stringify(r);
}

const badResults: Array<[string, string, RegExp]> = [
  ['truncated.results.json', '', /truncated\.results\.json/],
  ['future.results.json', '', /future\.results\.json.*schemaVersion|schemaVersion.*future\.results\.json/],
  ['nonsense.results.json', '', /nonsense\.results\.json/],
  ['noworkloads.results.json', '', /noworkloads\.results\.json/],
];

test('compare and baseline refuse truncated, future-version and nonsense results files (exit 2, naming the file)', async () => {
  badResults[0]![1] = goodText.slice(0, Math.floor(goodText.length / 2));
  badResults[1]![1] = edited((r) => (r.schemaVersion = 99));
  badResults[2]![1] = edited((r) => {
    const w = (r.workloads as Array<Record<string, unknown>>)[0]!;
    (w.samples as Array<Record<string, unknown>>)[0]!.metrics = { tps: 'fast' };
  });
  badResults[3]![1] = edited((r) => (r.workloads = 'none'));
  for (const [name, text, pattern] of badResults) {
    await writeFile(path.join(dir, name), text);
    const c = io();
    assert.equal(
      await compareCommand(['--baseline', 'good.baseline.json', '--results', name], c),
      2,
      `${name}: ${c.err}`,
    );
    assert.match(c.err, pattern, name);
    const b = io();
    assert.equal(
      await baselineCommand(['--results', name, '--out', `${name}.baseline.json`], b),
      2,
      `${name}: ${b.err}`,
    );
    assert.match(b.err, pattern, name);
  }
});

test('compare refuses a truncated, future-version or nonsense baseline (exit 2, naming the file)', async () => {
  const baselineText = JSON.stringify(
    JSON.parse(
      await import('node:fs/promises').then((fs) =>
        fs.readFile(path.join(dir, 'good.baseline.json'), 'utf8'),
      ),
    ),
  );
  const cases: Array<[string, string]> = [
    ['truncated.baseline.json', baselineText.slice(0, Math.floor(baselineText.length / 2))],
    ['future.baseline.json', JSON.stringify({ ...JSON.parse(baselineText), schemaVersion: 99 })],
    ['nonsense.baseline.json', JSON.stringify({ ...JSON.parse(baselineText), workloads: [{ id: 42 }] })],
  ];
  for (const [name, text] of cases) {
    await writeFile(path.join(dir, name), text);
    const c = io();
    assert.equal(
      await compareCommand(['--baseline', name, '--results', goodResults], c),
      2,
      `${name}: ${c.err}`,
    );
    assert.match(c.err, new RegExp(name.replace(/\./g, '\\.')), name);
  }
});

test('run --baseline with a truncated baseline exits 2 before measuring anything', async () => {
  const result = await runCli([
    'run',
    '--baseline',
    path.join(dir, 'truncated.baseline.json'),
    '--out',
    path.join(dir, 'run-out'),
  ]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /truncated\.baseline\.json/);
  assert.ok(result.ms < 60_000);
});

test('a results file of a failed run never passes a comparison, nor becomes a baseline', async () => {
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
  assert.equal(code, 3, `a failed run compared as a pass:\n${c.out}`);
  assert.match(c.err, /failed\.results\.json: the run it records failed \(arm "proxy" exited during a run\)/);
  const b = io();
  assert.equal(
    await baselineCommand(['--results', 'failed.results.json', '--out', 'failed.baseline.json'], b),
    3,
  );
});
