// Measures how often the gate catches a known slowdown and how often it cries wolf (docs/ACCURACY.md).
//
//   node --import tsx scripts/bench-accuracy.ts [--mode baseline|ab|both] [--suite accuracy|default|quick|FILE]
//        [--aa N] [--trials N] [--slowdowns 5,10,20] [--inject burn|wait] [--baseline-rounds N]
//        [--out DIR] [--mysql URL]
//
// Method: the proxy under test is this repo's Athena with a test cost per forwarded query
// (proxy/src/server/testCosts.ts). A calibration run (no cost) measures the proxy's own CPU µs
// and wall µs per query. `--inject burn` (default) burns CPU: a "p% slowdown" burns p% of the
// proxy's CPU per query. `--inject wait` sleeps with the event loop blocked, a cost in time only
// (no instructions): a "p% slowdown" is the wait that loses p% of throughput at one client thread,
// L·p/(100−p) for a per-query latency L (use it with `--suite latency`, the default suite's
// one-thread latency row). Committed-baseline mode: the calibration
// run becomes the baseline, every trial is a fresh run compared against it. Base-vs-head mode: each
// trial runs a base arm (burn 0) and the head arm (burn p%) interleaved, compared with compareArms.
// A/A trials use burn 0 for the head. Each trial runs with the adaptive-rounds hook, as the gate does.
// Trials of all levels are interleaved so slow drift of the machine spreads over every level.
// Every trial is appended to DIR/trials.jsonl as it finishes (a rerun skips the trials already there),
// and DIR/accuracy.md gets the table.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { driverFor } from '../src/drivers/index.ts';
import { runBenchmark, type ArmSource } from '../src/engine/run.ts';
import { athenaWithEnv } from '../test/helpers/engine.ts';
import { silentProgress } from '../src/harness/progress.ts';
import { parseMysqlUrl } from '../src/mysql/url.ts';
import { startLocalServer, type LocalServer } from '../src/mysql/index.ts';
import { ResultsSchema, metricSamples, type Results } from '../src/results/schema.ts';
import { SuiteSchema, type Suite } from '../src/suite/schema.ts';
import { loadSuite } from '../src/suite/load.ts';
import { BUILTIN_SUITES } from '../src/suite/builtins.ts';
import { TEST_BURN_US_VARIABLE, TEST_WAIT_US_VARIABLE } from '../proxy/src/contract.ts';
import { realExec } from '../src/util/exec.ts';
import { baselineFromResults, type Baseline } from '../src/verdict/baseline.ts';
import { compareArms, compareToBaseline, type Comparison } from '../src/verdict/compare.ts';
import { createMoreRoundsHook } from '../src/verdict/rounds.ts';
import { median } from '../src/model/stats.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The suite the accuracy runs use by default: the default suite's point-select shape (the
 * workload where the proxy's per-query cost matters most), short runs, 4 planned rounds and up to
 * 8 adaptive, so one trial takes about a minute on a 2-core machine. One workload keeps Holm's
 * family at 5 gated metrics: 4 vs 4 rounds can then reach significance in A/B mode only after
 * adaptive rounds (needs 5), and against an 8-round baseline from 4 rounds (2/C(12,4) = 0.004).
 */
const ACCURACY_SUITE = SuiteSchema.parse({
  name: 'accuracy',
  description: 'Point select through the proxy, short runs: the accuracy experiment (docs/ACCURACY.md)',
  rounds: 4,
  maxRounds: 8,
  budgetMinutes: 4,
  workloads: [
    {
      id: 'select',
      title: 'Select',
      driver: 'sysbench',
      threads: 8,
      warmupSec: 1,
      options: { test: 'oltp_point_select', tables: 2, tableSize: 1000, timeSec: 3 },
    },
  ],
});

const Flags = z.object({
  mode: z.enum(['baseline', 'ab', 'both']).default('both'),
  suite: z.string().default('accuracy'),
  aa: z.coerce.number().int().min(0).default(20),
  trials: z.coerce.number().int().min(0).default(20),
  slowdowns: z
    .string()
    .default('5,10,20')
    .transform((s) => s.split(',').map(Number))
    .pipe(z.array(z.number().positive().max(500))),
  inject: z.enum(['burn', 'wait']).default('burn'),
  baselineRounds: z.coerce.number().int().min(2).default(8),
  out: z.string().default('.athena-bench/accuracy'),
  mysql: z.string().optional(),
});

interface Trial {
  mode: 'baseline' | 'ab';
  /** Slowdown in % (of the proxy's CPU per query, or of throughput for a wait); 0 = A/A. */
  level: number;
  index: number;
  inject: 'burn' | 'wait';
  /** The injected µs per query: burnt, or slept. */
  costUs: number;
  verdict: Comparison['verdict'];
  regressed: string[];
  wallSec: number;
  rounds: number;
  /** Measured change of the proxy's CPU µs/query and TPS vs the reference (medians, %). */
  cpuDeltaPct: number | null;
  tpsDeltaPct: number | null;
  /** Spread of the head arm's per-round CPU µs/query within the trial (coefficient of variation, %). */
  cpuCvPct?: number | null;
  error?: string;
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} accuracy: ${line}\n`);
}

function costlyArm(name: string, role: 'proxy' | 'base', inject: Trial['inject'], costUs: number): ArmSource {
  const variable = inject === 'burn' ? TEST_BURN_US_VARIABLE : TEST_WAIT_US_VARIABLE;
  return athenaWithEnv(name, role, { [variable]: String(costUs) });
}

/** The default suite's one-thread latency row alone: where a wait shows (docs/ACCURACY.md). */
function latencySuite(): Suite {
  const suite = BUILTIN_SUITES.default;
  return SuiteSchema.parse({
    ...suite,
    name: 'latency',
    description: "The default suite's one-thread latency row: the accuracy experiment for waits",
    workloads: suite.workloads.filter((w) => w.id === 'latency'),
  });
}

/** The cost per query that makes a `level`% slowdown, from the calibration run's medians. */
function costFor(
  inject: Trial['inject'],
  level: number,
  proxy: { cpuUs: number; latencyUs: number },
): number {
  return inject === 'burn' ? (level / 100) * proxy.cpuUs : (proxy.latencyUs * level) / (100 - level);
}

/** SIGINT/SIGTERM abort the current run (the engine cleans up) and end the experiment after it. */
const interrupt = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => interrupt.abort());

async function run(
  suite: Suite,
  mysql: LocalServer | ReturnType<typeof target>,
  arms: ArmSource[],
  outDir: string,
  moreRounds?: Parameters<typeof runBenchmark>[0]['moreRounds'],
  rounds?: number,
) {
  return runBenchmark(
    {
      mysql: { ...mysql, database: mysql.database ?? 'test' },
      suite,
      arms,
      outDir,
      repoRoot,
      ...(rounds !== undefined ? { rounds } : {}),
      ...(moreRounds ? { moreRounds } : {}),
      signal: interrupt.signal,
    },
    {
      exec: realExec,
      now: Date.now,
      log: (l) => log(`  ${l}`),
      progress: silentProgress,
      env: process.env,
      driverFor,
    },
  );
}

function target(url: string) {
  const parsed = parseMysqlUrl(url);
  return { ...parsed, database: parsed.database ?? 'test' };
}

function proxyMedian(results: Results, arm: string, metric: 'cpu_us_per_query' | 'tps'): number | null {
  const values = results.workloads.flatMap((w) => {
    const s = metricSamples(w, arm, metric);
    return s.length ? [median(s)] : [];
  });
  return values.length ? median(values) : null;
}

/** Coefficient of variation (%) of the head arm's per-round CPU µs/query, median over workloads. */
function cpuSpread(results: Results, arm: string): number | null {
  const cvs = results.workloads.flatMap((w) => {
    const s = metricSamples(w, arm, 'cpu_us_per_query');
    if (s.length < 2) return [];
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / (s.length - 1));
    return mean > 0 ? [(100 * sd) / mean] : [];
  });
  return cvs.length ? median(cvs) : null;
}

function pctChange(current: number | null, reference: number | null): number | null {
  return current === null || reference === null || reference === 0
    ? null
    : (100 * (current - reference)) / reference;
}

function table(trials: Trial[]): string {
  const lines = [
    '| mode | injected slowdown | injected µs/query | trials | regressed | inconclusive | pass/improved | detection / false-alarm rate | measured CPU/query Δ (median) | measured TPS Δ (median) | per-round CPU/query CV (median) | median rounds | median wall time |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const groups = new Map<string, Trial[]>();
  for (const t of trials) {
    const key = `${t.mode}|${t.level}|${t.inject}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  const keys = [...groups.keys()].sort((a, b) => {
    const [ma, la] = a.split('|');
    const [mb, lb] = b.split('|');
    return ma!.localeCompare(mb!) || Number(la) - Number(lb);
  });
  const fmt = (v: number | null, digits = 1) =>
    v === null ? 'n/a' : `${v > 0 ? '+' : ''}${v.toFixed(digits)}%`;
  for (const key of keys) {
    const g = groups.get(key)!;
    const ok = g.filter((t) => !t.error);
    const regressed = ok.filter((t) => t.verdict === 'regressed').length;
    const inconclusive = ok.filter((t) => t.verdict === 'inconclusive').length;
    const level = g[0]!.level;
    const rate = ok.length
      ? `${((100 * regressed) / ok.length).toFixed(0)}% ${level === 0 ? 'false alarms' : 'detected'}`
      : 'n/a';
    const cpu = ok.flatMap((t) => (t.cpuDeltaPct === null ? [] : [t.cpuDeltaPct]));
    const tps = ok.flatMap((t) => (t.tpsDeltaPct === null ? [] : [t.tpsDeltaPct]));
    const cvs = ok.flatMap((t) => (t.cpuCvPct === undefined || t.cpuCvPct === null ? [] : [t.cpuCvPct]));
    lines.push(
      `| ${g[0]!.mode === 'ab' ? 'base-vs-head' : 'committed baseline'} | ${level === 0 ? 'none (A/A)' : `${level}% (${g[0]!.inject})`} | ${(g[0]!.costUs ?? 0).toFixed(1)} | ${ok.length}${g.length > ok.length ? ` (+${g.length - ok.length} failed)` : ''} | ${regressed} | ${inconclusive} | ${ok.length - regressed - inconclusive} | ${rate} | ${fmt(cpu.length ? median(cpu) : null)} | ${fmt(tps.length ? median(tps) : null)} | ${cvs.length ? `${median(cvs).toFixed(1)}%` : 'n/a'} | ${ok.length ? median(ok.map((t) => t.rounds)) : 'n/a'} | ${ok.length ? median(ok.map((t) => t.wallSec)).toFixed(0) : 'n/a'} s |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      mode: { type: 'string' },
      suite: { type: 'string' },
      aa: { type: 'string' },
      trials: { type: 'string' },
      slowdowns: { type: 'string' },
      'baseline-rounds': { type: 'string' },
      inject: { type: 'string' },
      out: { type: 'string' },
      mysql: { type: 'string' },
      rejudge: { type: 'boolean' },
    },
    strict: true,
  });
  const { rejudge: rejudgeOnly, ...rest } = values;
  const flags = Flags.parse({ ...rest, baselineRounds: values['baseline-rounds'] });
  if (rejudgeOnly) return rejudge(path.resolve(repoRoot, flags.out));
  const suite =
    flags.suite === 'accuracy'
      ? ACCURACY_SUITE
      : flags.suite === 'latency'
        ? latencySuite()
        : await loadSuite(flags.suite);
  const outDir = path.resolve(repoRoot, flags.out);
  mkdirSync(outDir, { recursive: true });
  const trialsFile = path.join(outDir, 'trials.jsonl');
  const done: Trial[] = existsSync(trialsFile)
    ? readFileSync(trialsFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Trial)
    : [];

  log('building the proxy once (node scripts/build.mjs --proxy-only)');
  const build = await realExec(process.execPath, ['scripts/build.mjs', '--proxy-only'], {
    cwd: repoRoot,
    timeoutMs: 600_000,
  });
  if (build.exitCode !== 0) throw new Error(`proxy build failed: ${build.stderr}`);

  const server = flags.mysql ? undefined : await startLocalServer();
  const mysql = server ?? target(flags.mysql!);
  try {
    // Calibration, which is also the committed baseline: the proxy at burn 0, more rounds.
    const calibrationFile = path.join(outDir, 'calibration.json');
    let baseline: Baseline;
    if (existsSync(calibrationFile)) {
      baseline = JSON.parse(readFileSync(calibrationFile, 'utf8')) as Baseline;
      log(`reusing the calibration run in ${calibrationFile}`);
    } else {
      log(`calibration / baseline run: ${flags.baselineRounds} rounds at burn 0`);
      const outcome = await run(
        suite,
        mysql,
        [costlyArm('proxy', 'proxy', flags.inject, 0)],
        path.join(outDir, 'calibration'),
        undefined,
        flags.baselineRounds,
      );
      baseline = baselineFromResults(outcome.results);
      writeFileSync(calibrationFile, JSON.stringify(baseline, null, 2));
    }
    const cpuMedians = baseline.workloads.flatMap((w) =>
      w.arms.proxy?.metrics.cpu_us_per_query ? [w.arms.proxy.metrics.cpu_us_per_query.median] : [],
    );
    if (cpuMedians.length === 0) throw new Error('the calibration run has no proxy CPU µs/query (no /proc?)');
    const proxyCpuUs = median(cpuMedians);
    const proxyLatencyUs = median(
      baseline.workloads.flatMap((w) => {
        const qps = w.arms.proxy?.metrics.qps?.median;
        return qps ? [(w.threads * 1e6) / qps] : [];
      }),
    );
    log(
      `proxy per query with no cost: ${proxyCpuUs.toFixed(1)} µs CPU, ${proxyLatencyUs.toFixed(1)} µs wall per client thread (medians over ${cpuMedians.length} workload(s))`,
    );

    const modes: Trial['mode'][] = flags.mode === 'both' ? ['baseline', 'ab'] : [flags.mode];
    const plan: { mode: Trial['mode']; level: number; index: number }[] = [];
    const maxCount = Math.max(flags.aa, flags.trials);
    for (let i = 0; i < maxCount; i++) {
      for (const mode of modes) {
        if (i < flags.aa) plan.push({ mode, level: 0, index: i });
        if (i < flags.trials) for (const level of flags.slowdowns) plan.push({ mode, level, index: i });
      }
    }
    const trials = [...done];
    for (const p of plan) {
      if (interrupt.signal.aborted || existsSync(path.join(outDir, 'STOP'))) {
        log('stopping: interrupted (or DIR/STOP exists); finished trials are kept in trials.jsonl');
        break;
      }
      if (done.some((t) => t.mode === p.mode && t.level === p.level && t.index === p.index)) continue;
      const costUs = costFor(flags.inject, p.level, { cpuUs: proxyCpuUs, latencyUs: proxyLatencyUs });
      const started = Date.now();
      const trialDir = path.join(outDir, 'trials', `${p.mode}-${p.level}-${p.index}`);
      let trial: Trial;
      try {
        let comparison: Comparison;
        let results: Results;
        if (p.mode === 'baseline') {
          const outcome = await run(
            suite,
            mysql,
            [costlyArm('proxy', 'proxy', flags.inject, costUs)],
            trialDir,
            createMoreRoundsHook({ baseline }),
          );
          results = outcome.results;
          comparison = compareToBaseline(baseline, results);
        } else {
          const outcome = await run(
            suite,
            mysql,
            [costlyArm('proxy', 'proxy', flags.inject, costUs), costlyArm('base', 'base', flags.inject, 0)],
            trialDir,
            createMoreRoundsHook({ arms: { head: 'proxy', base: 'base' } }),
          );
          results = outcome.results;
          comparison = compareArms(results, 'proxy', 'base');
        }
        const reference = (metric: 'cpu_us_per_query' | 'tps') =>
          p.mode === 'ab'
            ? proxyMedian(results, 'base', metric)
            : median(
                baseline.workloads.flatMap((w) =>
                  w.arms.proxy?.metrics[metric] ? [w.arms.proxy.metrics[metric].median] : [],
                ),
              );
        trial = {
          ...p,
          inject: flags.inject,
          costUs,
          verdict: comparison.verdict,
          regressed: comparison.workloads.flatMap((w) =>
            w.metrics
              .filter((m) => m.policy === 'gate' && m.verdict === 'regressed')
              .map((m) => `${w.id}:${m.metric}`),
          ),
          wallSec: (Date.now() - started) / 1000,
          rounds: Math.max(...comparison.workloads.map((w) => w.rounds.current)),
          cpuDeltaPct: pctChange(
            proxyMedian(results, 'proxy', 'cpu_us_per_query'),
            reference('cpu_us_per_query'),
          ),
          tpsDeltaPct: pctChange(proxyMedian(results, 'proxy', 'tps'), reference('tps')),
          cpuCvPct: cpuSpread(results, 'proxy'),
        };
      } catch (error) {
        if (interrupt.signal.aborted) break; // an interrupted trial is not a result
        trial = {
          ...p,
          inject: flags.inject,
          costUs,
          verdict: 'inconclusive',
          regressed: [],
          wallSec: (Date.now() - started) / 1000,
          rounds: 0,
          cpuDeltaPct: null,
          tpsDeltaPct: null,
          cpuCvPct: null,
          error: error instanceof Error ? error.message : String(error),
        };
      }
      appendFileSync(trialsFile, `${JSON.stringify(trial)}\n`);
      trials.push(trial);
      log(
        `${p.mode} ${p.level === 0 ? 'A/A' : `${p.level}%`} #${p.index + 1}: ${trial.error ? `FAILED ${trial.error}` : trial.verdict}` +
          ` (${trial.rounds} rounds, ${trial.wallSec.toFixed(0)} s, CPU/query ${trial.cpuDeltaPct?.toFixed(1) ?? 'n/a'}%, TPS ${trial.tpsDeltaPct?.toFixed(1) ?? 'n/a'}%)`,
      );
      writeFileSync(
        path.join(outDir, 'accuracy.md'),
        `# Accuracy run\n\nSuite \`${suite.name}\`, injected cost: ${flags.inject}; with no cost the proxy takes ${proxyCpuUs.toFixed(1)} µs CPU and ${proxyLatencyUs.toFixed(1)} µs wall per query and client thread.\n\n${table(trials)}\n`,
      );
    }
    process.stdout.write(`${table(trials)}\n`);
    return 0;
  } finally {
    await server?.stop();
  }
}

/**
 * --rejudge: recomputes every finished trial's verdict from its results.json with the current
 * verdict code (the rounds each trial ran were decided by the code of its time) and prints the table.
 */
function rejudge(outDir: string): number {
  const baseline = JSON.parse(readFileSync(path.join(outDir, 'calibration.json'), 'utf8')) as Baseline;
  const trials = readFileSync(path.join(outDir, 'trials.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Trial);
  const rejudged = trials.map((t) => {
    if (t.error) return t;
    const file = path.join(outDir, 'trials', `${t.mode}-${t.level}-${t.index}`, 'results.json');
    const results = ResultsSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    const c =
      t.mode === 'baseline' ? compareToBaseline(baseline, results) : compareArms(results, 'proxy', 'base');
    return {
      ...t,
      cpuCvPct: cpuSpread(results, 'proxy'),
      verdict: c.verdict,
      regressed: c.workloads.flatMap((w) =>
        w.metrics
          .filter((m) => m.policy === 'gate' && m.verdict === 'regressed')
          .map((m) => `${w.id}:${m.metric}`),
      ),
    };
  });
  const text = table(rejudged);
  writeFileSync(
    path.join(outDir, 'accuracy-rejudged.md'),
    `# Accuracy run, re-judged with the current verdict code\n\n${text}\n`,
  );
  process.stdout.write(`${text}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench-accuracy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(3);
  },
);
