import path from 'node:path';
import { z } from 'zod';
import { UsageError, errorMessage } from '../util/errors.ts';
import { loadResultsFile } from '../results/file.ts';
import type { Results } from '../results/schema.ts';
import { baselineFromResults, loadBaseline, writeBaseline, type Baseline } from '../verdict/baseline.ts';
import { exitCodeFor } from '../model/verdict.ts';
import { compareArms, compareToBaseline, type Comparison } from '../verdict/compare.ts';
import { writeReports } from '../gate/runGate.ts';
import { renderComparisonMarkdown } from '../report/comparison.ts';
import { guarded, parse, requiredPath, validate, type CommandIO } from './flags.ts';
import { SuiteNameSchema } from '../history/schema.ts';
import { readSuiteHistory } from '../history/store.ts';
import { currentRun, renderTrend, TREND_POINTS } from '../history/trend.ts';

export const BASELINE_HELP = `Usage: athena-bench baseline --results FILE --out FILE [--commit SHA]

Writes a baseline (the committed reference a later run is compared against) from a results file
of a complete run: every workload, arm and metric with all its samples and the median, the
suite, the environment fingerprint, the commit and the date.

Options:
  --results FILE   results.json of a complete run (athena-bench run --out DIR)
  --out FILE       baseline file to write, e.g. baselines/default.json
  --commit SHA     commit the proxy was built from (default: the one recorded in the results)
  --date ISO       date to record (default: when the run started)
  -h, --help       this help

Exit codes: 0 written, 2 bad input (flag, unreadable or invalid results file).
`;

export const COMPARE_HELP = `Usage: athena-bench compare --results FILE (--baseline FILE | --base-arm NAME)
                            [--arm NAME] [--fail-on-inconclusive] [--out DIR] [--history FILE]...
                            [--history-store DIR]

Compares a run against a committed baseline (or, with --base-arm, one arm of the run against
another measured interleaved in the same run: base-vs-head) and prints the Markdown report.
Per metric: Hodges–Lehmann shift with a 95% interval, Mann–Whitney U with Holm's correction,
verdict regressed / improved / pass / inconclusive against the metric's threshold.

Options:
  --results FILE            results.json of the run to judge
  --baseline FILE           baseline written by \`athena-bench baseline\`
  --base-arm NAME           A/B mode: the arm to compare against (e.g. base)
  --arm NAME                arm under test (default: the arm with role proxy)
  --fail-on-inconclusive    exit 1 on an inconclusive verdict too
  --out DIR                 also write DIR/report.md and DIR/report.html
  --history FILE            a baseline from the past, for the HTML trend chart (repeatable)
  --history-store DIR       a history store (athena-bench history): the report ends with the
                            default branch's last ${TREND_POINTS} points per workload and this run's value,
                            as Mermaid charts
  -h, --help                this help

Exit codes: 0 pass, improved or inconclusive; 1 regressed (or inconclusive with
--fail-on-inconclusive); 2 bad input; 3 infrastructure failure.
`;

export function baselineCommand(argv: string[], io: CommandIO): Promise<number> {
  return guarded('baseline', io, async () => {
    const values = parse('baseline', argv, {
      results: { type: 'string' },
      out: { type: 'string' },
      commit: { type: 'string' },
      date: { type: 'string' },
    });
    if (values.help) {
      io.stdout(BASELINE_HELP);
      return 0;
    }
    const flags = validate(
      'baseline',
      z.object({
        results: requiredPath('the results file (--results FILE)'),
        out: requiredPath('the baseline file to write (--out FILE)'),
        commit: z
          .string()
          .regex(/^[0-9a-f]{4,64}$/i, 'expected a commit SHA (hex)')
          .optional(),
        date: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time' }).optional(),
      }),
      values,
    );
    const results = await loadResultsFile(path.resolve(io.cwd, flags.results));
    const meta: { commit?: string; date?: string } = {};
    if (flags.commit) meta.commit = flags.commit;
    if (flags.date) meta.date = flags.date;
    const baseline = baselineFromResults(results, meta);
    const out = path.resolve(io.cwd, flags.out);
    await writeBaseline(out, baseline);
    const samples = baseline.workloads.reduce(
      (s, w) => s + Object.values(w.arms).reduce((a, arm) => a + (arm.metrics.tps?.samples.length ?? 0), 0),
      0,
    );
    io.stdout(
      `wrote ${flags.out}: ${baseline.workloads.length} workload(s), ${samples} arm-rounds, commit ${baseline.commit ?? '(unknown)'}, ` +
        `${baseline.environment.cpuModel} × ${baseline.environment.cores} cores, MySQL ${baseline.environment.mysqlVersion}\n`,
    );
    return 0;
  });
}

export function compareCommand(argv: string[], io: CommandIO): Promise<number> {
  return guarded('compare', io, async () => {
    const flags = compareFlags(argv, io);
    if (flags === null) return 0;
    const results = await loadResultsFile(path.resolve(io.cwd, flags.results));
    const history = await Promise.all(flags.history.map((h) => loadBaseline(path.resolve(io.cwd, h))));
    const comparison = await judge(flags, results, history, io);
    const trend = flags.historyStore
      ? await storeTrend(path.resolve(io.cwd, flags.historyStore), results)
      : '';
    const withTrend = (report: string) => (trend ? `${report.trimEnd()}\n\n${trend}\n` : report);
    let markdown: string;
    if (flags.out) {
      try {
        markdown = writeReports(path.resolve(io.cwd, flags.out), results, comparison, {
          markdown: (verdict) => withTrend(verdict!),
          history,
        }).reportMarkdown;
      } catch (error) {
        throw new UsageError(`--out ${flags.out}: cannot write the reports (${errorMessage(error)})`);
      }
    } else {
      markdown = withTrend(renderComparisonMarkdown(comparison));
    }
    io.stdout(markdown.endsWith('\n') ? markdown : `${markdown}\n`);
    if (comparison.verdict === 'inconclusive') {
      io.stderr(
        `athena-bench compare: INCONCLUSIVE — ${comparison.summaryLine}` +
          (flags.failOnInconclusive
            ? ' (failing: --fail-on-inconclusive)'
            : ' (not failing; pass --fail-on-inconclusive to fail)') +
          '\n',
      );
    }
    return exitCodeFor(comparison, { failOnInconclusive: flags.failOnInconclusive });
  });
}

const CompareFlagsSchema = z
  .object({
    results: requiredPath('the results file (--results FILE)'),
    baseline: z.string().min(1).optional(),
    baseArm: z.string().min(1).optional(),
    arm: z.string().min(1).optional(),
    failOnInconclusive: z.boolean().default(false),
    out: z.string().min(1).optional(),
    history: z.array(z.string().min(1)).default([]),
    historyStore: z.string().min(1).optional(),
  })
  .refine((f) => (f.baseline === undefined) !== (f.baseArm === undefined), {
    message: 'give exactly one of --baseline FILE or --base-arm NAME',
    path: ['baseline'],
  });

type CompareFlags = z.infer<typeof CompareFlagsSchema>;

/** The validated flags; null after printing the help. */
function compareFlags(argv: string[], io: CommandIO): CompareFlags | null {
  const values = parse('compare', argv, {
    baseline: { type: 'string' },
    results: { type: 'string' },
    'base-arm': { type: 'string' },
    arm: { type: 'string' },
    'fail-on-inconclusive': { type: 'boolean' },
    out: { type: 'string' },
    history: { type: 'string', multiple: true },
    'history-store': { type: 'string' },
  });
  if (values.help) {
    io.stdout(COMPARE_HELP);
    return null;
  }
  return validate('compare', CompareFlagsSchema, {
    results: values.results,
    baseline: values.baseline,
    baseArm: values['base-arm'],
    arm: values.arm,
    failOnInconclusive: values['fail-on-inconclusive'],
    out: values.out,
    history: values.history,
    historyStore: values['history-store'],
  });
}

/** The comparison the flags ask for; a baseline joins `history` (the HTML trend) unless it is there. */
async function judge(
  flags: CompareFlags,
  results: Results,
  history: Baseline[],
  io: CommandIO,
): Promise<Comparison> {
  if (flags.baseline) {
    const baseline = await loadBaseline(path.resolve(io.cwd, flags.baseline));
    if (!flags.history.includes(flags.baseline)) history.push(baseline);
    return compareToBaseline(baseline, results, flags.arm ? { arm: flags.arm } : {});
  }
  const head = flags.arm ?? results.arms.find((a) => a.role === 'proxy')?.name;
  if (!head)
    throw new UsageError("the results have no arm with role 'proxy'; name the head arm with --arm NAME");
  return compareArms(results, head, flags.baseArm!);
}

/** The trend of the run's suite in a history store ('' when the store has no point of it). */
async function storeTrend(store: string, results: Results): Promise<string> {
  const suite = SuiteNameSchema.safeParse(results.suite.name);
  if (!suite.success) {
    throw new UsageError(`--history-store: the suite name "${results.suite.name}" has no history file`);
  }
  const current = currentRun(results);
  return current ? renderTrend(await readSuiteHistory(store, suite.data), current) : '';
}
