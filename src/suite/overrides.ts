import { z } from 'zod';
import { METRIC_DEFAULTS, type Scale, MetricNameSchema, type MetricName } from '../model/metrics.ts';
import { type Suite, type Workload } from './schema.ts';

/**
 * What a run may change of a suite without editing its file: the verdict's thresholds, the planned
 * rounds and the measured seconds per run. The CLI's flags (--threshold, --rounds, --duration) and
 * the Action's inputs (threshold, rounds, duration) are parsed with these schemas and applied here,
 * so both doors run the same suite for the same values; results.json records the suite as run.
 */

/** Short names a threshold override may use besides the metric names themselves. */
export const METRIC_ALIASES = {
  p95: 'latency_p95_ms',
  p99: 'latency_p99_ms',
  avg: 'latency_avg_ms',
  cpu: 'cpu_us_per_query',
  rss: 'peak_rss_mb',
  overhead: 'overhead_pct',
  instructions: 'instructions_per_query',
  syscalls: 'syscalls_per_query',
  round_trips: 'backend_round_trips_per_query',
  bytes: 'bytes_per_query',
} as const satisfies Record<string, MetricName>;

export type Thresholds = Partial<Record<MetricName, number>>;

export interface SuiteOverrides {
  /** Per metric, for every workload: replaces the default and the suite file's thresholdPct. */
  thresholds: Thresholds;
  rounds?: number;
  /** sysbench and builtin workloads' timeSec (mysqlslap runs its iterations, not a time). */
  durationSec?: number;
}

/** A built-in suite name or a suite file, and what to change of it: what the doors hand the loader. */
export interface SuiteRequest {
  source: string;
  overrides: SuiteOverrides;
}

export const NO_OVERRIDES: SuiteOverrides = { thresholds: {} };

/** How a threshold is written for each scale: `tps=5%`, `overhead=3pts`, `errors=2`. */
const VALUE_SYNTAX: Record<Scale, { pattern: RegExp; form: string; example: string }> = {
  relative: { pattern: /^(\d+(?:\.\d+)?)%$/, form: 'N%', example: '5%' },
  points: { pattern: /^(\d+(?:\.\d+)?)pts$/, form: 'Npts (percentage points)', example: '3pts' },
  count: { pattern: /^(\d+)$/, form: 'N (a whole number of errors)', example: '2' },
};

function metricOf(name: string): MetricName | null {
  const parsed = MetricNameSchema.safeParse(name);
  if (parsed.success) return parsed.data;
  return (METRIC_ALIASES as Record<string, MetricName>)[name] ?? null;
}

const knownNames = () => [...MetricNameSchema.options, ...Object.keys(METRIC_ALIASES)].join(', ');

/**
 * `tps=5%,p95=10%` -> { tps: 5, latency_p95_ms: 10 }; '' -> {}. Each issue quotes the item and
 * says what was expected; the caller prefixes the input or flag it came from.
 */
export const ThresholdListSchema = z.string().transform((text, ctx): Thresholds => {
  const thresholds: Thresholds = {};
  if (text.trim() === '') return thresholds;
  for (const item of text.split(',').map((part) => part.trim())) {
    const fail = (message: string) => ctx.addIssue({ code: 'custom', message: `"${item}" — ${message}` });
    const match = /^([a-z0-9_]+)=(.*)$/.exec(item);
    if (!match) {
      fail('expected METRIC=N% such as tps=5%');
      continue;
    }
    const metric = metricOf(match[1]!);
    if (!metric) {
      fail(`unknown metric "${match[1]}" (expected one of ${knownNames()})`);
      continue;
    }
    const syntax = VALUE_SYNTAX[METRIC_DEFAULTS[metric].scale];
    const value = syntax.pattern.exec(match[2]!);
    if (!value) {
      fail(`expected ${match[1]}=${syntax.form} such as ${match[1]}=${syntax.example}`);
    } else if (metric in thresholds) {
      fail(`${metric} is given twice`);
    } else {
      thresholds[metric] = Number(value[1]);
    }
  }
  return thresholds;
});

/** The suite with the overrides applied; the suite itself is left as it was. */
export function applySuiteOverrides(suite: Suite, overrides: SuiteOverrides): Suite {
  const { thresholds, rounds, durationSec } = overrides;
  return {
    ...suite,
    ...(rounds !== undefined ? { rounds } : {}),
    workloads: suite.workloads.map((w) => withThresholds(withDuration(w, durationSec), thresholds)),
  };
}

function withDuration(workload: Workload, durationSec: number | undefined): Workload {
  if (durationSec === undefined) return workload;
  if (workload.driver === 'sysbench') {
    return { ...workload, options: { ...workload.options, timeSec: durationSec } };
  }
  if (workload.driver === 'builtin') {
    return { ...workload, options: { ...workload.options, timeSec: durationSec } };
  }
  return workload;
}

function withThresholds(workload: Workload, thresholds: Thresholds): Workload {
  const entries = Object.entries(thresholds) as Array<[MetricName, number]>;
  if (entries.length === 0) return workload;
  const metrics = { ...workload.metrics };
  for (const [metric, thresholdPct] of entries) metrics[metric] = { ...metrics[metric], thresholdPct };
  return { ...workload, metrics };
}
