// Builders for results files with fixed samples, shared by the verdict tests.
import { ResultsSchema, type Environment, type Results } from '../../src/results/schema.ts';
import type { MetricName } from '../../src/model/metrics.ts';
import type { MetricPolicy } from '../../src/suite/schema.ts';

/** Deterministic values around `center`, spread ±`spread` (fraction), all distinct. */
export function around(center: number, spread: number, n: number, seed = 1): number[] {
  let s = seed * 7919 + 17;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const u = (s / 2147483648) * 2 - 1;
    out.push(center * (1 + spread * u) + i * 1e-6 * center);
  }
  return out;
}

export interface ArmSeries {
  tps: number[];
  p95?: number[];
  cpuUs?: number[];
  errors?: number[];
}

export interface WorkloadSpec {
  id: string;
  arms: Record<string, ArmSeries>;
  metrics?: Partial<Record<MetricName, MetricPolicy>>;
  allowErrors?: boolean;
}

export const BASE_ENVIRONMENT: Environment = {
  cpuModel: 'Test CPU @ 2.0GHz',
  cores: 2,
  memoryBytes: 8e9,
  kernel: '6.1.0',
  os: 'Debian 12',
  runner: {},
  node: 'v20.19.0',
  mysqlVersion: '10.11.19-MariaDB',
  sysbenchVersion: '1.0.20',
  mysqlslapVersion: null,
  ulimitNofile: 1048576,
  somaxconn: 4096,
  valgrindVersion: null,
  glibcVersion: '2.36',
};

const ROLES: Record<string, 'direct' | 'proxy' | 'base' | 'reference'> = {
  direct: 'direct',
  proxy: 'proxy',
  base: 'base',
};

/** A complete results file: every arm × round sample of each workload from the given series. */
export function makeResults(spec: {
  workloads: WorkloadSpec[];
  environment?: Partial<Environment>;
  rounds?: number;
  commit?: string;
}): Results {
  const armNames = [...new Set(spec.workloads.flatMap((w) => Object.keys(w.arms)))];
  const t0 = Date.parse('2026-11-27T10:00:00Z');
  const raw = {
    schemaVersion: 1,
    tool: { name: 'athena-bench', version: '0.1.0' },
    startedAt: '2026-11-27T10:00:00.000Z',
    finishedAt: '2026-11-27T10:05:00.000Z',
    git: { commit: spec.commit ?? 'c0ffee0000000000000000000000000000000000', ref: 'main' },
    status: 'complete',
    suite: {
      name: 'fixture',
      rounds:
        spec.rounds ??
        Math.max(1, ...spec.workloads.flatMap((w) => Object.values(w.arms).map((a) => a.tps.length))),
      workloads: spec.workloads.map((w) => ({
        id: w.id,
        title: `Workload ${w.id}`,
        threads: 16,
        driver: 'sysbench',
        options: { test: 'oltp_read_write', timeSec: 10 },
        metrics: w.metrics ?? {},
        allowErrors: w.allowErrors ?? false,
      })),
    },
    arms: armNames.map((name) => ({ name, role: ROLES[name] ?? 'reference', host: '127.0.0.1', port: 3306 })),
    workloads: spec.workloads.map((w) => ({
      id: w.id,
      title: `Workload ${w.id}`,
      driver: 'sysbench',
      threads: 16,
      samples: Object.entries(w.arms).flatMap(([arm, series]) =>
        series.tps.map((tps, round) => ({
          arm,
          round,
          position: armNames.indexOf(arm),
          startedAt: new Date(t0 + round * 30_000 + armNames.indexOf(arm) * 10_000).toISOString(),
          metrics: {
            durationSec: 10,
            transactions: tps * 10,
            tps,
            queries: tps * 200,
            qps: tps * 20,
            latencyMs: { min: 1, avg: 5, max: 50, p95: series.p95?.[round] ?? 10, p99: null },
            errors: series.errors?.[round] ?? 0,
          },
          proxy:
            arm === 'direct'
              ? null
              : { cpuSeconds: 1, cpuUsPerQuery: series.cpuUs?.[round] ?? 50, peakRssMb: 80 },
        })),
      ),
    })),
    environment: { ...BASE_ENVIRONMENT, ...spec.environment },
  };
  return ResultsSchema.parse(raw);
}

/** Proxy and direct series for n rounds: proxy at `tps` with p95 and CPU scaled by `slowdown`. */
export function armsFor(
  n: number,
  opts: { tps: number; direct?: number; slowdown?: number; spread?: number; seed?: number },
): Record<string, ArmSeries> {
  const slow = opts.slowdown ?? 0;
  const spread = opts.spread ?? 0.01;
  const seed = opts.seed ?? 1;
  return {
    direct: { tps: around(opts.direct ?? opts.tps * 1.25, spread, n, seed + 100) },
    proxy: {
      tps: around(opts.tps / (1 + slow), spread, n, seed),
      p95: around(10 * (1 + slow), spread, n, seed + 1),
      cpuUs: around(50 * (1 + slow), spread, n, seed + 2),
    },
  };
}
