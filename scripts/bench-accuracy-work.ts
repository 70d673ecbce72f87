// The work channel's accuracy (docs/ACCURACY.md): how often a count-based slowdown of the proxy is
// caught, and how often an unchanged proxy raises a false alarm.
//
//   node --import tsx scripts/bench-accuracy-work.ts [--mode ab|baseline|both] [--aa N] [--trials N]
//        [--slowdowns 1,2,5,10] [--events N] [--out DIR]
//
// Method: the proxy under test is this repo's Athena with ATHENA_TEST_SPIN_LOOPS_PER_QUERY set, a
// loop of that many iterations per forwarded query (a cost in instructions: a µs busy-wait means
// nothing under valgrind). Calibration measures the proxy's instructions per query with no loop and
// with CALIBRATION_LOOPS iterations; their difference gives the instructions of one iteration, so
// "a p% slowdown" runs the iterations that add p% of the proxy's own instructions per query.
// Base-vs-head trials run base (no loop) and head (the loop) at the same time, as the gate does;
// committed-baseline trials compare a fresh run with the calibration run made into a baseline.
// Trials of all levels are interleaved; each is appended to DIR/trials.jsonl as it finishes.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { driverFor } from '../src/drivers/index.ts';
import { runBenchmark, type ArmSource } from '../src/engine/run.ts';
import { athenaWithEnv } from '../test/helpers/engine.ts';
import { silentProgress } from '../src/harness/progress.ts';
import { startLocalServer, type LocalServer } from '../src/mysql/index.ts';
import { ResultsSchema, metricSamples, type Results } from '../src/results/schema.ts';
import { SuiteSchema, type Suite } from '../src/suite/schema.ts';
import { realExec } from '../src/util/exec.ts';
import { baselineFromResults, type Baseline } from '../src/verdict/baseline.ts';
import { compareArms, compareToBaseline, type Comparison } from '../src/verdict/compare.ts';
import { median } from '../src/model/stats.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CALIBRATION_LOOPS = 2000;

const Flags = z.object({
  mode: z.enum(['baseline', 'ab', 'both']).default('ab'),
  aa: z.coerce.number().int().min(0).default(20),
  trials: z.coerce.number().int().min(0).default(20),
  slowdowns: z
    .string()
    .default('1,2,5,10')
    .transform((s) => s.split(',').map(Number))
    .pipe(z.array(z.number().positive().max(500))),
  events: z.coerce.number().int().min(100).default(10_000),
  out: z.string().default('.athena-bench/accuracy-work'),
});

function accuracySuite(events: number): Suite {
  return SuiteSchema.parse({
    name: 'accuracy-work',
    description: 'Point select through the proxy, counted: the work channel accuracy experiment',
    workloads: [
      {
        id: 'select',
        title: 'Select',
        driver: 'sysbench',
        threads: 8,
        options: { test: 'oltp_point_select', tables: 2, tableSize: 1000, timeSec: 3 },
        work: { events },
      },
    ],
  });
}

interface Trial {
  mode: 'baseline' | 'ab';
  level: number;
  index: number;
  loops: number;
  verdict: Comparison['verdict'];
  regressed: string[];
  wallSec: number;
  /** Measured change of instructions per query vs the reference (medians, %). */
  instructionsDeltaPct: number | null;
  windows: number;
  error?: string;
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} accuracy-work: ${line}\n`);
}

function spinningArm(name: string, role: 'proxy' | 'base', loops: number): ArmSource {
  return athenaWithEnv(name, role, { ATHENA_TEST_SPIN_LOOPS_PER_QUERY: String(loops) });
}

async function measure(
  suite: Suite,
  mysql: LocalServer,
  arms: ArmSource[],
  outDir: string,
): Promise<Results> {
  const outcome = await runBenchmark(
    { mysql: { ...mysql, database: mysql.database }, suite, arms, outDir, repoRoot, measure: 'work' },
    {
      exec: realExec,
      now: Date.now,
      log: (l) => log(`  ${l}`),
      progress: { ...silentProgress, note: (l) => log(`  ${l}`) },
      env: process.env,
      driverFor,
    },
  );
  return outcome.results;
}

function instructionsPerQuery(results: Results, arm: string): number {
  return median(metricSamples(results.workloads[0]!, arm, 'instructions_per_query'));
}

/** The calibration run, or the one a previous run of the experiment left in DIR (resuming). */
async function calibrate(suite: Suite, mysql: () => Promise<LocalServer>, out: string) {
  const file = path.join(out, 'calibration', 'results.json');
  const kept = existsSync(file) ? ResultsSchema.parse(JSON.parse(readFileSync(file, 'utf8'))) : null;
  const results =
    kept?.status === 'complete'
      ? kept
      : await measure(
          suite,
          await mysql(),
          [spinningArm('proxy', 'proxy', 0), spinningArm('base', 'base', CALIBRATION_LOOPS)],
          path.join(out, 'calibration'),
        );
  const own = instructionsPerQuery(results, 'proxy');
  const perLoop = (instructionsPerQuery(results, 'base') - own) / CALIBRATION_LOOPS;
  log(`calibration: ${own.toFixed(0)} instructions/query, ${perLoop.toFixed(2)} per loop iteration`);
  return { baseline: baselineFromResults(results), own, perLoop };
}

async function trial(
  t: Omit<Trial, 'verdict' | 'regressed' | 'wallSec' | 'instructionsDeltaPct' | 'windows'>,
  suite: Suite,
  mysql: LocalServer,
  baseline: Baseline,
  out: string,
): Promise<Trial> {
  const started = Date.now();
  const dir = path.join(out, `${t.mode}-${t.level}-${t.index}`);
  const arms =
    t.mode === 'ab'
      ? [spinningArm('proxy', 'proxy', t.loops), spinningArm('base', 'base', 0)]
      : [spinningArm('proxy', 'proxy', t.loops)];
  const results = await measure(suite, mysql, arms, dir);
  const comparison =
    t.mode === 'ab' ? compareArms(results, 'proxy', 'base') : compareToBaseline(baseline, results);
  const row = comparison.workloads[0]?.metrics.find((m) => m.metric === 'instructions_per_query');
  return {
    ...t,
    verdict: comparison.verdict,
    regressed: comparison.workloads.flatMap((w) =>
      w.metrics.filter((m) => m.verdict === 'regressed' && m.policy === 'gate').map((m) => m.metric),
    ),
    wallSec: (Date.now() - started) / 1000,
    instructionsDeltaPct: row?.delta ?? null,
    windows: row?.currentSamples.length ?? 0,
  };
}

function table(trials: Trial[]): string {
  const lines = [
    '| mode | injected | trials | regressed | inconclusive | pass | median Δ instructions/query | median wall |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const keys = [...new Set(trials.map((t) => `${t.mode}\u0000${t.level}`))];
  for (const key of keys) {
    const [mode, level] = key.split('\u0000');
    const cell = trials.filter((t) => t.mode === mode && String(t.level) === level && !t.error);
    const count = (v: string) => cell.filter((t) => t.verdict === v).length;
    const deltas = cell.flatMap((t) => (t.instructionsDeltaPct === null ? [] : [t.instructionsDeltaPct]));
    lines.push(
      `| ${mode} | ${level === '0' ? 'A/A' : `+${level}%`} | ${cell.length} | ${count('regressed')} | ${count('inconclusive')} | ` +
        `${count('pass') + count('improved')} | ${deltas.length ? `${median(deltas).toFixed(2)}%` : '—'} | ` +
        `${cell.length ? `${median(cell.map((t) => t.wallSec)).toFixed(0)} s` : '—'} |`,
    );
  }
  return lines.join('\n');
}

/**
 * The same trials judged again with other instructions/query thresholds (their results.json files
 * are kept): how the threshold trades detection of small changes against A/A passes.
 */
function rejudge(out: string, trials: Trial[], baseline: Baseline, thresholds: number[]): string {
  const lines = [
    '| instructions/query threshold | mode | injected | regressed | inconclusive | pass |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const threshold of thresholds) {
    const verdicts = new Map<string, string[]>();
    for (const t of trials.filter((x) => !x.error)) {
      const file = path.join(out, `${t.mode}-${t.level}-${t.index}`, 'results.json');
      if (!existsSync(file)) continue;
      const results = ResultsSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
      const suite = {
        ...results.suite,
        workloads: results.suite.workloads.map((w) => ({
          ...w,
          metrics: {
            ...w.metrics,
            instructions_per_query: { thresholdPct: threshold, policy: 'gate' as const },
          },
        })),
      };
      const judged = { ...results, suite };
      const c = t.mode === 'ab' ? compareArms(judged, 'proxy', 'base') : compareToBaseline(baseline, judged);
      const key = `${t.mode}\u0000${t.level}`;
      verdicts.set(key, [...(verdicts.get(key) ?? []), c.verdict]);
    }
    for (const [key, list] of verdicts) {
      const [mode, level] = key.split('\u0000');
      const count = (v: string) => list.filter((x) => x === v).length;
      lines.push(
        `| ${threshold}% | ${mode} | ${level === '0' ? 'A/A' : `+${level}%`} | ${count('regressed')} | ${count('inconclusive')} | ${count('pass') + count('improved')} |`,
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: Object.fromEntries(Object.keys(Flags.shape).map((k) => [k, { type: 'string' }])),
  });
  const flags = Flags.parse(values);
  const out = path.resolve(flags.out);
  mkdirSync(out, { recursive: true });
  const suite = accuracySuite(flags.events);
  let server: LocalServer | undefined;
  const mysql = async () => (server ??= await startLocalServer());
  try {
    const { baseline, own, perLoop } = await calibrate(suite, mysql, out);
    const file = path.join(out, 'trials.jsonl');
    const done: Trial[] = existsSync(file)
      ? readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Trial)
      : [];
    const modes = flags.mode === 'both' ? (['ab', 'baseline'] as const) : [flags.mode];
    const plan: Array<Pick<Trial, 'mode' | 'level' | 'index'>> = [];
    const most = Math.max(flags.aa, flags.trials);
    for (let index = 0; index < most; index++) {
      for (const mode of modes) {
        if (index < flags.aa) plan.push({ mode, level: 0, index });
        if (index < flags.trials) for (const level of flags.slowdowns) plan.push({ mode, level, index });
      }
    }
    for (const p of plan) {
      if (done.some((d) => d.mode === p.mode && d.level === p.level && d.index === p.index)) continue;
      const loops = Math.round((p.level / 100) * (own / perLoop));
      let result: Trial;
      try {
        result = await trial({ ...p, loops }, suite, await mysql(), baseline, out);
      } catch (error) {
        result = {
          ...p,
          loops,
          verdict: 'inconclusive',
          regressed: [],
          wallSec: 0,
          instructionsDeltaPct: null,
          windows: 0,
          error: String(error),
        };
      }
      log(
        `${p.mode} +${p.level}% #${p.index}: ${result.verdict} (Δ ${result.instructionsDeltaPct?.toFixed(2) ?? '—'}%, ${result.wallSec.toFixed(0)} s)`,
      );
      appendFileSync(file, `${JSON.stringify(result)}\n`);
      done.push(result);
    }
    const text =
      `# Work channel accuracy\n\nCalibration: ${own.toFixed(0)} instructions/query, ${perLoop.toFixed(2)} per loop iteration.\n\n${table(done)}\n\n` +
      `Re-judged with other thresholds:\n\n${rejudge(out, done, baseline, [0.5, 0.75, 1, 2, 3])}\n`;
    writeFileSync(path.join(out, 'accuracy.md'), text);
    process.stdout.write(text);
  } finally {
    await server?.stop();
  }
}

await main();
