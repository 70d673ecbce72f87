// `athena-bench history add|detect|show`: flags, the store on disk, and detection on synthetic series.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { historyCommand } from '../../../src/cli/history.ts';
import { HistoryFileSchema } from '../../../src/history/schema.ts';
import { writeSuiteHistory } from '../../../src/history/store.ts';
import { runCli } from '../../helpers/cli.ts';
import { syntheticHistory, syntheticSeries, syntheticSha } from '../../helpers/series.ts';
import { armsFor, makeResults } from '../../helpers/results.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cli-history-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the history command in-process (what the CLI dispatches to). */
async function history(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await historyCommand(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    env: {},
    cwd: dir,
  });
  return { code, stdout, stderr };
}

async function writeResults(name: string, commit: string, startedAt: string): Promise<string> {
  const results = makeResults({ commit, workloads: [{ id: 'select', arms: armsFor(4, { tps: 1000 }) }] });
  results.startedAt = startedAt;
  const file = path.join(dir, name);
  await writeFile(file, JSON.stringify(results));
  return file;
}

test('help, and usage errors that name the flag (exit 2)', async () => {
  const help = await runCli(['history', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /history add RESULTS\.json --store DIR[\s\S]*--min-magnitude/);
  assert.equal((await history(['detect', '--help'])).code, 0);
  const cases: [string[], RegExp][] = [
    [[], /expected a subcommand \(add, detect or show\)/],
    [['frobnicate'], /unknown subcommand "frobnicate"/],
    [['detect'], /--store: required: the history directory/],
    [['detect', '--store', dir, '--permutations', '5'], /--permutations: expected a whole number from 19/],
    [
      ['detect', '--store', dir, '--significance', 'x'],
      /--significance: expected a level between 0 and 0\.5/,
    ],
    [['detect', '--store', dir, '--bogus'], /Unknown option '--bogus'/],
    [['show', '--store', dir], /--html: required: the HTML file to write/],
    [['add', '--store', dir], /expected exactly one results file, got 0/],
    [['add', 'a.json', 'b.json', '--store', dir], /expected exactly one results file, got 2/],
    [['add', 'a.json', '--store', dir, '--commit', 'xyz'], /--commit: expected a commit SHA/],
    [['add', 'a.json', '--store', dir, '--retention', '0'], /--retention: expected a whole number >= 1/],
    [['add', 'missing.json', '--store', dir], /missing\.json: cannot read the results file/],
  ];
  for (const [argv, message] of cases) {
    const r = await history(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /athena-bench history \w+: athena-bench/, 'the command is named once');
  }
});

test('add appends one point per run, skips a run already there, and keeps the newest N', async () => {
  const store = path.join(dir, 'store-add');
  const files = await Promise.all(
    [1, 2, 3].map((i) => writeResults(`r${i}.json`, syntheticSha(i), `2026-11-0${i}T10:00:00.000Z`)),
  );
  // The first through the real CLI (argument wiring in src/cli.ts), the rest in-process.
  const first = await runCli(['history', 'add', files[0]!, '--store', store]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stdout,
    new RegExp(`fixture: added commit ${syntheticSha(1).slice(0, 12)} .*1 point\\(s\\)`),
  );
  assert.equal(
    (await history(['add', files[1]!, '--store', store, '--run-url', 'https://ci.example/run/2'])).code,
    0,
  );
  const again = await history(['add', files[1]!, '--store', store]);
  assert.match(again.stdout, /already in the history/);
  const third = await history(['add', files[2]!, '--store', store, '--retention', '2']);
  assert.match(third.stdout, /2 point\(s\), 1 oldest dropped \(retention 2\)/);
  const saved = HistoryFileSchema.parse(JSON.parse(await readFile(path.join(store, 'fixture.json'), 'utf8')));
  assert.deepEqual(
    saved.points.map((p) => [p.commit, p.runUrl]),
    [
      [syntheticSha(2), 'https://ci.example/run/2'],
      [syntheticSha(3), null],
    ],
  );
  // A run without a commit needs --commit.
  const anonymous = makeResults({ workloads: [{ id: 'select', arms: armsFor(4, { tps: 1000 }) }] });
  anonymous.git.commit = null;
  await writeFile(path.join(dir, 'anon.json'), JSON.stringify(anonymous));
  const refused = await history(['add', 'anon.json', '--store', store]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--commit SHA/);
});

test('detect reports a 3% step at its commit (±1) and nothing else about individual commits', async () => {
  const store = path.join(dir, 'store-step');
  const k = 25;
  const values = syntheticSeries({ length: 40, noise: 0.01, seed: 11, step: 0.03, stepAt: k });
  await writeSuiteHistory(store, syntheticHistory('stepped', { cpu_us_per_query: values }));
  const text = await runCli(['history', 'detect', '--store', store]);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  assert.equal(lines.length, 3, text.stdout); // header, one change point, summary
  const [suite, workload, arm, metric, commit, shift] = lines[1]!.split('\t');
  assert.deepEqual([suite, workload, arm, metric], ['stepped', 'select', 'proxy', 'cpu_us_per_query']);
  const at = Array.from({ length: 40 }, (_, i) => syntheticSha(i).slice(0, 12)).indexOf(commit!);
  assert.ok(Math.abs(at - k) <= 1, `reported at point ${at}, step at ${k}`);
  assert.match(shift!, /^\+[23]\.\d\d%$/);
  assert.equal(lines[2], '1 change point(s) in 1 series of 1 suite(s)');
  // No other commit is mentioned.
  const mentioned = Array.from({ length: 40 }, (_, i) => syntheticSha(i).slice(0, 7)).filter((s) =>
    text.stdout.includes(s),
  );
  assert.equal(mentioned.length, 1);

  const json = await history(['detect', '--store', store, '--json']);
  const parsed = JSON.parse(json.stdout) as { series: number; changePoints: Record<string, unknown>[] };
  assert.equal(parsed.series, 1);
  assert.equal(parsed.changePoints.length, 1);
  assert.equal(parsed.changePoints[0]!.commit, syntheticSha(at));
  assert.equal(parsed.changePoints[0]!.direction, 'worse');
});

test('detect reports no change point on 20 step-free series with 8% noise', async () => {
  const store = path.join(dir, 'store-flat');
  const metrics = Object.fromEntries(
    Array.from({ length: 20 }, (_, s) => [
      `m${s}`,
      syntheticSeries({ length: 40, noise: 0.08, seed: 500 + s }),
    ]),
  );
  await writeSuiteHistory(store, syntheticHistory('flat', metrics));
  const r = await history(['detect', '--store', store]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '0 change point(s) in 20 series of 1 suite(s)\n');
  // The same store at a 30% level does show (false) change points: the test above can fail.
  const loose = await history(['detect', '--store', store, '--significance', '0.3', '--permutations', '99']);
  assert.equal(loose.code, 0, loose.stderr);
  assert.match(loose.stdout, /^[1-9]\d* change point\(s\) in 20 series/m);
});
