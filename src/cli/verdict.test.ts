import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type CommandIO } from './flags.ts';
import { baselineCommand, compareCommand } from './verdict.ts';
import { around, armsFor, makeResults } from '../../test/helpers/results.ts';
import type { Results } from '../results/schema.ts';
import { captureIO } from '../../test/helpers/io.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'verdict-commands-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const io = (): CommandIO & { out: string; err: string } => captureIO(dir);

async function writeResults(name: string, results: Results): Promise<string> {
  await writeFile(path.join(dir, name), JSON.stringify(results));
  return name;
}

async function makeBaseline(name: string, rounds = 8): Promise<string> {
  const r = await writeResults(
    `${name}.results.json`,
    makeResults({ workloads: [{ id: 'rw', arms: armsFor(rounds, { tps: 1000, seed: 1 }) }] }),
  );
  const sink = io();
  assert.equal(
    await baselineCommand(['--results', r, '--out', `${name}.json`, '--commit', 'abcdef1'], sink),
    0,
    sink.err,
  );
  return `${name}.json`;
}

test('--help on both commands', async () => {
  const a = io();
  assert.equal(await baselineCommand(['--help'], a), 0);
  assert.match(a.out, /^Usage: athena-bench baseline --results FILE --out FILE/);
  const b = io();
  assert.equal(await compareCommand(['-h'], b), 0);
  assert.match(b.out, /--fail-on-inconclusive/);
});

test('baseline: writes the file; bad flags and inputs exit 2 naming the flag, file and field', async () => {
  const file = await makeBaseline('base');
  const written = JSON.parse(await readFile(path.join(dir, file), 'utf8'));
  assert.equal(written.commit, 'abcdef1');
  assert.equal(written.schemaVersion, 1);

  const missing = io();
  assert.equal(await baselineCommand(['--out', 'x.json'], missing), 2);
  assert.match(missing.err, /--results: required: the results file/);
  const unknown = io();
  assert.equal(await baselineCommand(['--results', 'a', '--out', 'b', '--colour'], unknown), 2);
  assert.match(unknown.err, /Unknown option '--colour'.*--help/);
  const badSha = io();
  assert.equal(await baselineCommand(['--results', 'a', '--out', 'b', '--commit', 'not a sha'], badSha), 2);
  assert.match(badSha.err, /--commit: expected a commit SHA/);

  await writeFile(
    path.join(dir, 'broken-results.json'),
    JSON.stringify({ schemaVersion: 1, tool: { name: 'athena-bench', version: '1' } }),
  );
  const broken = io();
  assert.equal(await baselineCommand(['--results', 'broken-results.json', '--out', 'b.json'], broken), 2);
  assert.match(broken.err, /broken-results\.json: invalid results file: startedAt: /);
  const absent = io();
  assert.equal(await baselineCommand(['--results', 'nope.json', '--out', 'b.json'], absent), 2);
  assert.match(absent.err, /nope\.json: cannot read the results file/);
});

test('compare: pass exits 0 and writes report.md and report.html', async () => {
  const base = await makeBaseline('pass-base');
  const r = await writeResults(
    'pass.json',
    makeResults({ workloads: [{ id: 'rw', arms: armsFor(8, { tps: 1000, seed: 2 }) }] }),
  );
  const sink = io();
  assert.equal(
    await compareCommand(['--baseline', base, '--results', r, '--out', 'out-pass'], sink),
    0,
    sink.err,
  );
  assert.match(sink.out, /^## athena-bench: ✅ pass\n\n\*\*No regression in 1 workload — /);
  assert.equal(await readFile(path.join(dir, 'out-pass', 'report.md'), 'utf8'), sink.out);
  const html = await readFile(path.join(dir, 'out-pass', 'report.html'), 'utf8');
  assert.match(html, /^<!doctype html>/);
  assert.ok(
    !/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html),
    'self-contained: no script, no fetched URL',
  );
});

test('compare: regressed exits 1; improved exits 0', async () => {
  const base = await makeBaseline('reg-base');
  const slow = await writeResults(
    'slow.json',
    makeResults({ workloads: [{ id: 'rw', arms: armsFor(8, { tps: 1000, seed: 3, slowdown: 0.2 }) }] }),
  );
  const a = io();
  assert.equal(await compareCommand(['--baseline', base, '--results', slow], a), 1);
  assert.match(a.out, /🔴 regressed/);
  const fast = await writeResults(
    'fast.json',
    makeResults({ workloads: [{ id: 'rw', arms: armsFor(8, { tps: 1000, seed: 3, slowdown: -0.2 }) }] }),
  );
  const b = io();
  assert.equal(await compareCommand(['--baseline', base, '--results', fast], b), 0);
  assert.match(b.out, /🟢 improved/);
});

test('compare: inconclusive exits 0 loudly, or 1 with --fail-on-inconclusive; too few samples are warned about', async () => {
  const base = await makeBaseline('inc-base', 2);
  const r = await writeResults(
    'inc.json',
    makeResults({ workloads: [{ id: 'rw', arms: armsFor(2, { tps: 1000, seed: 4, slowdown: 0.3 }) }] }),
  );
  const a = io();
  assert.equal(await compareCommand(['--baseline', base, '--results', r], a), 0);
  assert.match(a.err, /INCONCLUSIVE.*pass --fail-on-inconclusive to fail/);
  assert.match(a.out, /Too few samples/);
  const b = io();
  assert.equal(await compareCommand(['--baseline', base, '--results', r, '--fail-on-inconclusive'], b), 1);
});

test('compare: environment mismatch is reported at the top', async () => {
  const base = await makeBaseline('env-base');
  const r = await writeResults(
    'env.json',
    makeResults({
      workloads: [{ id: 'rw', arms: armsFor(8, { tps: 1000, seed: 5 }) }],
      environment: { mysqlVersion: '8.0.40' },
    }),
  );
  const sink = io();
  assert.equal(await compareCommand(['--baseline', base, '--results', r], sink), 0);
  assert.match(sink.out.split('\n').slice(0, 8).join('\n'), /The environment differs/);
  assert.match(sink.out, /mysqlVersion: 10\.11\.19-MariaDB → 8\.0\.40/);
});

test('compare: base-vs-head A/B with --base-arm', async () => {
  const n = 8;
  const r = await writeResults(
    'ab.json',
    makeResults({
      workloads: [
        {
          id: 'rw',
          arms: {
            direct: { tps: around(1250, 0.01, n, 1) },
            base: { tps: around(1000, 0.01, n, 2), cpuUs: around(50, 0.01, n, 3) },
            proxy: { tps: around(850, 0.01, n, 4), cpuUs: around(60, 0.01, n, 5) },
          },
        },
      ],
    }),
  );
  const sink = io();
  assert.equal(await compareCommand(['--base-arm', 'base', '--results', r], sink), 1);
  assert.match(sink.out, /\| metric \| base \| current \|/);
  const both = io();
  assert.equal(await compareCommand(['--base-arm', 'base', '--baseline', 'x.json', '--results', r], both), 2);
  assert.match(both.err, /give exactly one of --baseline FILE or --base-arm NAME/);
  const wrongArm = io();
  assert.equal(await compareCommand(['--base-arm', 'nope', '--results', r], wrongArm), 2);
  assert.match(wrongArm.err, /no arm "nope"/);
});

test('compare: malformed and outdated baselines exit 2 naming the file and the field', async () => {
  const r = await writeResults(
    'any.json',
    makeResults({ workloads: [{ id: 'rw', arms: armsFor(3, { tps: 1000 }) }] }),
  );
  const good = JSON.parse(await readFile(path.join(dir, await makeBaseline('good')), 'utf8'));
  await writeFile(path.join(dir, 'old.json'), JSON.stringify({ ...good, schemaVersion: 0 }));
  await writeFile(
    path.join(dir, 'nomedian.json'),
    JSON.stringify({
      ...good,
      workloads: [
        { ...good.workloads[0], arms: { proxy: { role: 'proxy', metrics: { tps: { samples: [1] } } } } },
      ],
    }),
  );
  await writeFile(path.join(dir, 'garbage.json'), 'not json');
  for (const [file, pattern] of [
    ['old.json', /old\.json: schemaVersion 0 is not supported \(expected 1\)/],
    ['nomedian.json', /nomedian\.json: invalid baseline: workloads\[0\]\.arms\.proxy\.metrics\.tps\.median/],
    ['garbage.json', /garbage\.json: not valid JSON/],
  ] as const) {
    const sink = io();
    assert.equal(await compareCommand(['--baseline', file, '--results', r], sink), 2, file);
    assert.match(sink.err, pattern);
  }
  await access(path.join(dir, 'good.json'));
});
