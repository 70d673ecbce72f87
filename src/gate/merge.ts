import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InfrastructureError, UsageError } from '../util/errors.ts';
import { ResultsSchema, type Results, type ShardRecord } from '../results/schema.ts';
import { countFingerprintDifferences, environmentDifferences } from '../verdict/baseline.ts';
import { readResultsFile } from '../results/file.ts';
import type { Reference } from './reference.ts';
import { judge, writeReports, type GateOutcome } from './runGate.ts';

/**
 * The merge of a sharded run: the shards' results.json (one directory each) checked to be one run
 * of one suite, joined into the results one big run would have written, and judged as one (Holm
 * over every gated hypothesis of every shard).
 */

export interface ShardResults {
  dir: string;
  results: Results;
}

/** Reads DIR/results.json of every shard; a directory without one is a shard that never finished. */
export async function readShards(dirs: string[]): Promise<ShardResults[]> {
  if (dirs.length === 0) throw new UsageError('no shard directories given (athena-bench merge DIR…)');
  return Promise.all(
    dirs.map(async (dir) => {
      const file = path.join(dir, 'results.json');
      if (!existsSync(file)) {
        throw new InfrastructureError(
          `${dir}: no results.json: the shard of this directory did not finish (or its artifact was not downloaded)`,
        );
      }
      return { dir, results: await readResultsFile(file) };
    }),
  );
}

const label = (s: { index: number; count: number }) => `shard ${s.index}/${s.count}`;

function shardOf(entry: ShardResults): ShardRecord {
  const shard = entry.results.shard;
  if (!shard) {
    throw new UsageError(
      `${entry.dir}/results.json is not a shard's (run with --shard i/n, or the shard input)`,
    );
  }
  return shard;
}

/**
 * The checks of a merge: every shard of the same suite (else a UsageError), shards 1..n each
 * present once and complete (else an InfrastructureError naming the shard), and the complete ones
 * of the same commit, reference, arms and channels (else a UsageError: they are not one run).
 * Returns the shards in index order.
 */
export function checkShards(entries: ShardResults[]): ShardResults[] {
  const first = entries[0]!;
  const expected = shardOf(first);
  const suite = (e: ShardResults) =>
    `${e.results.suite.name} (${shardOf(e).suiteHash.slice(0, 12)}, ${shardOf(e).count} shards)`;
  for (const entry of entries) {
    if (suite(entry) !== suite(first)) throw notOneRun(first, entry, 'suite', suite);
  }
  const ordered = everyShardOnce(entries, expected.count);
  for (const entry of ordered) {
    if (entry.results.status !== 'complete') {
      throw new InfrastructureError(
        `${label(shardOf(entry))} failed (${entry.dir}): ${entry.results.failure ?? 'no reason recorded'}`,
      );
    }
  }
  const facets: Array<[string, (e: ShardResults) => string]> = [
    ['commit', (e) => e.results.git.commit ?? 'unknown'],
    ['reference', (e) => `${shardOf(e).reference.kind} ${shardOf(e).reference.commit ?? ''}`.trim()],
    ['arms', (e) => e.results.arms.map((a) => `${a.name}:${a.role}:${a.commit ?? ''}`).join(',')],
    ['measure', (e) => e.results.measure],
  ];
  for (const entry of ordered) {
    for (const [what, of] of facets) {
      if (of(entry) !== of(ordered[0]!)) throw notOneRun(ordered[0]!, entry, what, of);
    }
  }
  return ordered;
}

function notOneRun(
  first: ShardResults,
  entry: ShardResults,
  what: string,
  of: (e: ShardResults) => string,
): UsageError {
  return new UsageError(
    `${label(shardOf(entry))} (${entry.dir}) is of ${what} ${of(entry)}, ` +
      `${label(shardOf(first))} (${first.dir}) of ${of(first)}: these shards are not one run and cannot be merged`,
  );
}

/** The shards by index, 1..count, each exactly once. */
function everyShardOnce(entries: ShardResults[], count: number): ShardResults[] {
  const byIndex = new Map<number, ShardResults>();
  for (const entry of entries) {
    const index = shardOf(entry).index;
    const twice = byIndex.get(index);
    if (twice) {
      throw new UsageError(`${label(shardOf(entry))} is given twice: ${twice.dir} and ${entry.dir}`);
    }
    byIndex.set(index, entry);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    throw new InfrastructureError(
      `${missing.map((i) => label({ index: i, count })).join(', ')} missing ` +
        `(got ${[...byIndex.keys()].sort((a, b) => a - b).join(', ')}): its job failed or its artifact was not downloaded`,
    );
  }
  return [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, entry]) => entry);
}

/** The results one run of the whole suite would have written, with each shard's machine kept. */
export function mergeShardResults(ordered: ShardResults[]): Results {
  const first = ordered[0]!.results;
  const order = shardOf(ordered[0]!).suiteWorkloads;
  const position = (id: string) => order.indexOf(id);
  const all = ordered.flatMap((e) => e.results.workloads).sort((a, b) => position(a.id) - position(b.id));
  const definitions = ordered
    .flatMap((e) => e.results.suite.workloads)
    .sort((a, b) => position(a.id) - position(b.id));
  const times = ordered.map((e) => e.results);
  const { shard: _shard, ...rest } = first;
  return {
    ...rest,
    startedAt: times.map((r) => r.startedAt).sort()[0]!,
    finishedAt: times
      .map((r) => r.finishedAt)
      .sort()
      .at(-1)!,
    suite: { ...first.suite, workloads: definitions },
    workloads: all,
    warnings: ordered.flatMap((e) => e.results.warnings.map((w) => `${label(shardOf(e))}: ${w}`)),
    shards: ordered.map((e) => ({
      index: shardOf(e).index,
      workloads: e.results.workloads.map((w) => w.id),
      startedAt: e.results.startedAt,
      finishedAt: e.results.finishedAt,
      environment: e.results.environment,
    })),
  };
}

/** What the merged results are judged against when the caller names nothing: the shards' own A/B arms. */
export function recordedReference(results: Results, recorded: ShardRecord['reference']): Reference {
  if (recorded.kind !== 'base-ref') return { kind: 'none' };
  const head = results.arms.find((a) => a.role === 'proxy')?.name;
  const base = results.arms.find((a) => a.role === 'base')?.name;
  if (!head || !base) return { kind: 'none' };
  return {
    kind: 'base-ref',
    ref: recorded.commit ?? base,
    commit: recorded.commit,
    headArm: head,
    baseArm: base,
  };
}

/** The merged run, as one run of the gate would have left it. */
export type MergeOutcome = GateOutcome;

/**
 * Against a baseline, the merged results carry the environment of a shard whose machine differs
 * from the baseline's, when one does: the verdict then treats every shard's absolute metrics as
 * informational, rather than gating some on a machine the baseline was not measured on.
 */
function environmentToJudge(results: Results, reference: Reference): Results {
  if (reference.kind !== 'baseline' || !results.shards) return results;
  const recorded = reference.baseline.environment;
  const differing = results.shards.find(
    (s) =>
      environmentDifferences(recorded, s.environment).length > 0 ||
      countFingerprintDifferences(recorded, s.environment).length > 0,
  );
  return differing ? { ...results, environment: differing.environment } : results;
}

/**
 * Reads, checks and merges the shards in `dirs`, judges the merged results against `reference`
 * (or, when it is undefined, what the shards were judged against: `recordedBaseline`, or their own
 * base-vs-head arms), and writes results.json, report.md and report.html to outDir.
 */
export async function mergeShards(
  dirs: string[],
  outDir: string,
  reference: Reference | undefined,
  /** When reference is undefined and the shards were judged against a baseline: that baseline. */
  recordedBaseline?: Extract<Reference, { kind: 'baseline' }>,
): Promise<MergeOutcome> {
  const ordered = checkShards(await readShards(dirs));
  const merged = mergeShardResults(ordered);
  const recorded = shardOf(ordered[0]!).reference;
  const chosen =
    reference ??
    (recorded.kind === 'baseline' && recordedBaseline
      ? recordedBaseline
      : recordedReference(merged, recorded));
  const results = ResultsSchema.parse(environmentToJudge(merged, chosen));
  const comparison = judge(chosen, results);
  mkdirSync(outDir, { recursive: true });
  const resultsPath = path.join(outDir, 'results.json');
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  return { results, resultsPath, ...writeReports(outDir, results, comparison), comparison };
}
