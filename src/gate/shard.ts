import { createHash } from 'node:crypto';
import { z } from 'zod';
import { UsageError } from '../util/errors.ts';
import type { ShardRecord } from '../results/schema.ts';
import type { Suite, Workload } from '../suite/schema.ts';

/**
 * Sharding: a suite's workloads split over n jobs (a CI matrix), each job running its share. The
 * split is a pure function of the suite and n, so every job computes the same one on its own.
 */

export const MAX_SHARDS = 64;

export const ShardSchema = z
  .object({
    index: z.number().int().min(1, 'expected a shard index >= 1'),
    count: z
      .number()
      .int()
      .min(1, 'expected a shard count >= 1')
      .max(MAX_SHARDS, `expected at most ${MAX_SHARDS} shards`),
  })
  .refine((s) => s.index <= s.count, {
    message: 'expected the shard index <= the shard count',
    path: ['index'],
  });
export type Shard = z.infer<typeof ShardSchema>;

/** "i/n" (e.g. 2/4) as written on the command line and in the Action's `shard` input. */
export const ShardSpecSchema = z
  .string()
  .regex(/^\d+\/\d+$/, 'expected i/n, e.g. 2/4 (shard i of n, 1 <= i <= n <= 64)')
  .transform((s) => {
    const [index, count] = s.split('/').map(Number);
    return { index: index!, count: count! };
  })
  .pipe(ShardSchema);

/** JSON with object keys sorted at every level: the same suite always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 of the canonical JSON of what is run: the suite and the rounds and duration overrides. */
export function suiteHash(suite: Suite, overrides: { rounds?: number; durationSec?: number } = {}): string {
  const subject = { suite, rounds: overrides.rounds ?? null, durationSec: overrides.durationSec ?? null };
  return createHash('sha256').update(canonicalJson(subject)).digest('hex');
}

/**
 * Seconds one run of a workload nominally takes: a timed driver's warm-up and measured time plus
 * its start-up and report; mysqlslap, which has no time limit, per iteration. Measured on the quick
 * suite (1 s runs, 2 arms × 2 rounds, the shared 2-core machine): a sysbench workload 4.5-5 s in
 * all (4 runs and its prepare), a mysqlslap one 1.5-2 s (4 runs of 2 iterations). Only the ratios
 * matter: every workload has the same arms and rounds.
 */
const TIMED_OVERHEAD_SEC = 0.3;
const MYSQLSLAP_ITERATION_SEC = 0.2;
export function nominalSeconds(workload: Workload): number {
  if (workload.driver === 'mysqlslap') {
    return workload.warmupSec + workload.options.iterations * MYSQLSLAP_ITERATION_SEC + TIMED_OVERHEAD_SEC;
  }
  return workload.warmupSec + workload.options.timeSec + TIMED_OVERHEAD_SEC;
}

/**
 * The workload ids of each of `count` shards: greedy longest-first (the longest workload goes to the
 * least loaded shard, ties to the lower shard), ids in suite order within a shard. Deterministic:
 * equal durations are ordered by id.
 */
export function assignShards(suite: Suite, count: number): string[][] {
  const loads = Array.from({ length: count }, () => ({ seconds: 0, ids: new Set<string>() }));
  const longestFirst = [...suite.workloads].sort(
    (a, b) => nominalSeconds(b) - nominalSeconds(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  for (const workload of longestFirst) {
    let least = loads[0]!;
    for (const load of loads) if (load.seconds < least.seconds) least = load;
    least.seconds += nominalSeconds(workload);
    least.ids.add(workload.id);
  }
  return loads.map((load) => suite.workloads.filter((w) => load.ids.has(w.id)).map((w) => w.id));
}

/** The part of the suite shard `shard` runs, and the record results.json keeps of it. */
export function shardSuite(
  suite: Suite,
  shard: Shard,
  reference: ShardRecord['reference'],
  overrides: { rounds?: number; durationSec?: number } = {},
): { suite: Suite; record: ShardRecord } {
  const ids = new Set(assignShards(suite, shard.count)[shard.index - 1]);
  if (ids.size === 0) {
    throw new UsageError(
      `shard ${shard.index}/${shard.count}: suite ${suite.name} has only ${suite.workloads.length} ` +
        `workload(s), so shard ${shard.index} would run none; use at most ${suite.workloads.length} shards`,
    );
  }
  return {
    suite: { ...suite, workloads: suite.workloads.filter((w) => ids.has(w.id)) },
    record: {
      index: shard.index,
      count: shard.count,
      suiteHash: suiteHash(suite, overrides),
      suiteWorkloads: suite.workloads.map((w) => w.id),
      reference,
    },
  };
}
