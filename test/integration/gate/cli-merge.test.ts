// A sharded run: the quick suite as 2 shards, two `athena-bench run --shard i/2` processes each with
// its own throwaway MySQL server, merged by `athena-bench merge` into one results.json and one
// verdict whose Holm family is the whole suite's. The merge refuses shards that are not one run
// (exit 2) and names a missing or failed shard (exit 3).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mergeCommand } from '../../../src/cli/merge.ts';
import { reportFailure } from '../../../src/cli/flags.ts';
import { assignShards } from '../../../src/gate/shard.ts';
import { findFreePort } from '../../../src/util/net.ts';
import { BUILTIN_SUITES } from '../../../src/suite/builtins.ts';
import { baselineFromResults } from '../../../src/verdict/baseline.ts';
import { compareToBaseline } from '../../../src/verdict/compare.ts';
import { privateTmp, readResults, repoRoot, runCli, startCli } from '../../helpers/cli.ts';

const quick = BUILTIN_SUITES.quick;
let scratch: string;
const shardDirs: string[] = [];

before(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cli-merge-'));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

/** `athena-bench merge` in this process, through the CLI's one error → exit code mapping. */
async function merge(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const code = await mergeCommand(args, { stdout: (s) => void (stdout += s), cwd: repoRoot }).catch(
    (error: unknown) => reportFailure('merge', error, (s) => void (stderr += s)),
  );
  return { code, stderr, stdout };
}

interface EditableResults {
  status: string;
  failure: string | null;
  git: { commit: string | null; ref: string | null };
  shard?: { suiteHash: string };
}

/** A copy of shard `index`'s directory with its results.json edited. */
function editedShard(index: number, name: string, edit: (results: EditableResults) => void): string {
  const dir = path.join(scratch, name);
  cpSync(shardDirs[index - 1]!, dir, { recursive: true });
  const file = path.join(dir, 'results.json');
  const results = JSON.parse(readFileSync(file, 'utf8')) as EditableResults;
  edit(results);
  writeFileSync(file, JSON.stringify(results));
  return dir;
}

test(
  'the quick suite as 2 shards in 2 processes, merged: every workload once, the whole suite’s Holm family',
  { skip: process.platform !== 'linux' },
  async () => {
    const args = (i: number) => {
      const out = path.join(scratch, `shard-${i}`);
      shardDirs.push(out);
      const run = ['run', '--suite', 'quick', '--measure', 'time', '--rounds', '2', '--duration', '1'];
      return [...run, '--no-baseline', '--shard', `${i}/2`, '--out', out];
    };
    const first = startCli(args(1), { TMPDIR: privateTmp(scratch) });
    // Both processes build this repository's proxy into one proxy/dist; the second builds once the
    // first has started its proxy, so no proxy starts from a half-written bundle.
    await first.waitForStderr(/starting arm "proxy"/, 120_000);
    const second = startCli(args(2), { TMPDIR: privateTmp(scratch) });
    const [one, two] = await Promise.all([first.done, second.done]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    const shards = shardDirs.map(readResults);
    assert.deepEqual(
      shards.map((r) => r.workloads.map((w) => w.id)),
      assignShards(quick, 2),
    );
    assert.notEqual(shards[0]!.shard!.suiteHash, undefined);
    assert.equal(shards[0]!.shard!.suiteHash, shards[1]!.shard!.suiteHash);

    const measured = await merge([...shardDirs, '--out', path.join(scratch, 'measured')]);
    assert.equal(measured.code, 0, measured.stderr);
    const merged = readResults(path.join(scratch, 'measured'));
    assert.deepEqual(
      merged.workloads.map((w) => w.id),
      quick.workloads.map((w) => w.id),
      'every workload once, in suite order',
    );
    assert.deepEqual(
      merged.shards!.map((s) => [s.index, s.environment.mysqlVersion]),
      shards.map((r, i) => [i + 1, r.environment.mysqlVersion]),
    );

    // Judged against a baseline of the merged run: one family over both shards' hypotheses.
    const baselineFile = path.join(scratch, 'baseline.json');
    const baseline = baselineFromResults(merged, {});
    writeFileSync(baselineFile, JSON.stringify(baseline));
    const judgedDir = path.join(scratch, 'judged');
    const judged = await merge([...shardDirs, '--out', judgedDir, '--baseline', baselineFile]);
    assert.ok(judged.code === 0 || judged.code === 1, judged.stderr);
    const whole = compareToBaseline(baseline, merged);
    const perShard = shards.map((r) => compareToBaseline(baseline, r).comparisons);
    assert.equal(whole.comparisons, perShard[0]! + perShard[1]!, 'the family is the union of the shards’');
    assert.ok(perShard.every((k) => k < whole.comparisons));
    const report = readFileSync(path.join(judgedDir, 'report.md'), 'utf8');
    assert.match(report, new RegExp(`Time \\(${whole.families.time} gated timings\\)`));
    assert.match(report, /\*\*Shard 1\/2\*\* \(.*\*\*Shard 2\/2\*\* \(/s);
    assert.match(readFileSync(path.join(judgedDir, 'report.html'), 'utf8'), /<html/i);
  },
);

test('a missing shard and a failed shard exit 3 naming the shard', async (t) => {
  if (shardDirs.length === 0) return t.skip('no shards ran');
  const missing = await merge([shardDirs[0]!, '--out', path.join(scratch, 'm1')]);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /shard 2\/2 missing/);

  // A real failure: shard 2's job could not reach its MySQL server.
  const failed = path.join(scratch, 'failed-2');
  const unreachable = `mysql://root:x@127.0.0.1:${await findFreePort()}/test`;
  const run = await runCli([
    ...['run', '--suite', 'quick', '--rounds', '2', '--duration', '1', '--no-baseline'],
    ...['--mysql', unreachable, '--mysql-ready-timeout', '1', '--shard', '2/2', '--out', failed],
  ]);
  assert.equal(run.code, 3, run.stderr);
  const result = await merge([shardDirs[0]!, failed, '--out', path.join(scratch, 'm2')]);
  assert.equal(result.code, 3);
  assert.match(result.stderr, /shard 2\/2 failed \(.*failed-2\): .*127\.0\.0\.1/);

  const twice = await merge([shardDirs[0]!, shardDirs[0]!, '--out', path.join(scratch, 'm3')]);
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /shard 1\/2 is given twice/);
});

test('shards of different commits or suites are refused', async (t) => {
  if (shardDirs.length === 0) return t.skip('no shards ran');
  const otherCommit = editedShard(2, 'commit-2', (r) => (r.git = { ...r.git, commit: 'f'.repeat(40) }));
  const commits = await merge([shardDirs[0]!, otherCommit, '--out', path.join(scratch, 'm4')]);
  assert.equal(commits.code, 2);
  assert.match(commits.stderr, /shard 2\/2 .* is of commit f{40}.*not one run/);

  const otherSuite = editedShard(2, 'suite-2', (r) => (r.shard!.suiteHash = '0'.repeat(64)));
  const suites = await merge([shardDirs[0]!, otherSuite, '--out', path.join(scratch, 'm5')]);
  assert.equal(suites.code, 2);
  assert.match(suites.stderr, /shard 2\/2 .* is of suite quick \(000000000000, 2 shards\).*not one run/);

  const unsharded = editedShard(2, 'whole-2', (r) => delete r.shard);
  const whole = await merge([shardDirs[0]!, unsharded, '--out', path.join(scratch, 'm6')]);
  assert.equal(whole.code, 2);
  assert.match(whole.stderr, /is not a shard's/);
});

test('merge: usage errors name the flag', async () => {
  assert.match((await merge([])).stderr, /DIR…: expected at least one shard directory/);
  const both = await merge(['x', '--baseline', 'b.json', '--base-arm', 'base']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--baseline: give at most one/);
  const help = await merge(['--help']);
  assert.match(help.stdout, /Usage: athena-bench merge DIR…/);
  const cli = await runCli(['merge', path.join(scratch, 'nowhere')]);
  assert.equal(cli.code, 3, cli.stderr);
  assert.match(cli.stderr, /athena-bench merge: .*nowhere: no results.json/);
});
