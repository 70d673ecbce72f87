// Synthetic benchmark series with known steps, for validating change-point detection.
import { createHash } from 'node:crypto';
import { seededRandom } from '../../src/history/edivisive.ts';
import { HistoryFileSchema, type HistoryFile, type HistoryPoint } from '../../src/history/schema.ts';
import type { WorkloadWork } from '../../src/results/schema.ts';

/** Standard normal draws from a seeded PRNG (Box–Muller). */
export function normalDraws(seed: number): () => number {
  const random = seededRandom(seed);
  return () => {
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/**
 * `length` values around `level` with Gaussian noise of `noise` (a fraction of the level: 0.08 is
 * 8%), stepping up by `step` (a fraction) from index `stepAt` on when given.
 */
export function syntheticSeries(opts: {
  length: number;
  noise: number;
  seed: number;
  level?: number;
  step?: number;
  stepAt?: number;
}): number[] {
  const level = opts.level ?? 100;
  const draw = normalDraws(opts.seed);
  return Array.from({ length: opts.length }, (_, i) => {
    const stepped = opts.stepAt !== undefined && i >= opts.stepAt ? 1 + (opts.step ?? 0) : 1;
    return level * stepped * (1 + opts.noise * draw());
  });
}

/** A fake 40-hex commit SHA for the i-th point of a synthetic history. */
export function syntheticSha(i: number): string {
  return createHash('sha1').update(`synthetic commit ${i}`).digest('hex');
}

/**
 * A one-suite history whose single workload "select" has, on its proxy arm, one series per metric
 * (all of the same length): point i is commit syntheticSha(i), an hour after point i − 1.
 */
export function syntheticHistory(suite: string, metrics: Record<string, number[]>): HistoryFile {
  const length = Math.max(...Object.values(metrics).map((v) => v.length));
  const points: HistoryPoint[] = Array.from({ length }, (_, i) => ({
    commit: syntheticSha(i),
    ref: 'refs/heads/main',
    time: new Date(Date.parse('2026-10-01T00:00:00Z') + i * 3600_000).toISOString(),
    toolVersion: '0.1.0',
    runUrl: null,
    environment: { fingerprint: 'abcdefabcdef', cpuModel: 'Test CPU', cores: 2, mysqlVersion: '10.11' },
    workloads: {
      select: {
        arms: {
          proxy: {
            role: 'proxy',
            metrics: Object.fromEntries(
              Object.entries(metrics).map(([name, values]) => {
                const v = values[i]!;
                return [name, { median: v, n: 1, min: v, max: v, q1: v, q3: v }];
              }),
            ),
          },
        },
      },
    },
  }));
  return HistoryFileSchema.parse({ schemaVersion: 1, kind: 'athena-bench-history', suite, points });
}

/** The work channel's record of a proxy arm: three kept windows of 10,000 queries at about `ipq` instructions each. */
export function proxyWorkCounts(ipq: number): WorkloadWork {
  const windows = [1, 2, 3].map((k) => ({
    events: 10_000,
    queries: 10_000,
    instructions: ipq * 10_000 + k,
    syscalls: 20_000,
    allSyscalls: 40_000,
    clockReads: 0,
    threads: 1,
    backendRoundTrips: null,
    backendBytes: null,
    wallSec: 1,
  }));
  return {
    threads: 1,
    eventsPerWindow: 10_000,
    arms: {
      proxy: {
        windows,
        firstKept: 0,
        settled: true,
        spreadPct: 0,
        topFunctions: [],
        topSyscalls: [],
        profile: null,
      },
    },
  };
}
