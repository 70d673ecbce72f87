import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UsageError, errorMessage } from '../util/errors.ts';
import { loadResultsFile } from '../results/file.ts';
import { guarded, parseCommandLine, requiredPath, validate, type CommandIO } from './flags.ts';
import { formatShift, renderHistoryDashboard } from '../report/dashboard.ts';
import { DEFAULT_DETECT_OPTIONS, detectChangePoints, seriesOf, type ChangePoint } from '../history/detect.ts';
import { pointFromResults } from '../history/point.ts';
import { CommitShaSchema } from '../history/schema.ts';
import {
  appendPoints,
  DEFAULT_RETENTION,
  readStore,
  readSuiteHistory,
  writeSuiteHistory,
} from '../history/store.ts';

const d = DEFAULT_DETECT_OPTIONS;
export const HISTORY_HELP = `Usage: athena-bench history add RESULTS.json --store DIR [--commit SHA] [--run-url URL]
                            [--retention N]
       athena-bench history detect --store DIR [--json] [detection options]
       athena-bench history show --store DIR --html OUT [detection options]

Keeps the default branch's results over time in a store directory (one JSON file per suite, one
point per run: per workload, arm and metric the samples' median, quartiles and range, with the
commit, the time and the machine's fingerprint), finds the commits where a metric shifted, and
draws the trends.

  add      appends the run in RESULTS.json to DIR/<suite>.json (a run already there is skipped);
           the oldest points beyond --retention are dropped
  detect   prints each change point: suite, workload, arm, metric, commit and the shift's size
  show     writes a self-contained HTML dashboard (no script, nothing fetched when viewed)

Options:
  --store DIR              the history directory
  --commit SHA             add: the measured commit (default: the one in the results)
  --run-url URL            add: where the run can be looked at (the CI job)
  --retention N            add: points kept per suite (default ${DEFAULT_RETENTION})
  --json                   detect: the change points as JSON
  --html OUT               show: the HTML file to write
Detection options (E-divisive with means and a permutation test; docs/HISTORY.md):
  --arm NAME               series of this arm (repeatable; default: the arms with role proxy)
  --significance P         level of each permutation test (default ${d.significance})
  --permutations N         permutations per test (default ${d.permutations})
  --min-magnitude X        smallest shift reported, in % (points for overhead; default ${d.minMagnitude})
  --min-segment N          fewest points on either side of a change point (default ${d.minSegment})
  --seed N                 seed of the permutations (default ${d.seed})
  -h, --help               this help

Exit codes: 0 done (whether or not change points were found), 2 bad input.
`;

const numberFlag = (what: string) =>
  z.coerce.number({ error: `expected ${what}` }).refine(Number.isFinite, `expected ${what}`);

const DetectFlagsSchema = z.object({
  store: requiredPath('the history directory (--store DIR)'),
  arm: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected an arm name')).optional(),
  significance: numberFlag('a level between 0 and 0.5')
    .refine((p) => p > 0 && p <= 0.5, 'expected a level between 0 and 0.5')
    .default(d.significance),
  permutations: numberFlag('a whole number from 19 to 100000')
    .refine(
      (n) => Number.isInteger(n) && n >= 19 && n <= 100_000,
      'expected a whole number from 19 to 100000',
    )
    .default(d.permutations),
  minMagnitude: numberFlag('a size >= 0')
    .refine((x) => x >= 0, 'expected a size >= 0')
    .default(d.minMagnitude),
  minSegment: numberFlag('a whole number from 2 to 1000')
    .refine((n) => Number.isInteger(n) && n >= 2 && n <= 1000, 'expected a whole number from 2 to 1000')
    .default(d.minSegment),
  seed: numberFlag('a whole number')
    .refine((n) => Number.isSafeInteger(n), 'expected a whole number')
    .default(d.seed),
});

const DETECT_FLAG_OPTIONS = {
  store: { type: 'string' },
  arm: { type: 'string', multiple: true },
  significance: { type: 'string' },
  permutations: { type: 'string' },
  'min-magnitude': { type: 'string' },
  'min-segment': { type: 'string' },
  seed: { type: 'string' },
} as const;

type DetectValues = { [K in keyof typeof DETECT_FLAG_OPTIONS]?: string | string[] };

/** The store named by the flags, and its change points with the flags' detection options. */
async function readAndDetect(command: string, values: DetectValues & Record<string, unknown>, io: CommandIO) {
  const { store, options } = detectFlags(command, values);
  const histories = await readStore(path.resolve(io.cwd, store));
  const changes = detectChangePoints(histories, { ...DEFAULT_DETECT_OPTIONS, ...options });
  return { histories, changes, options };
}

function detectFlags(command: string, values: DetectValues & Record<string, unknown>) {
  const flags = validate(command, DetectFlagsSchema, {
    store: values.store,
    arm: values.arm,
    significance: values.significance,
    permutations: values.permutations,
    minMagnitude: values['min-magnitude'],
    minSegment: values['min-segment'],
    seed: values.seed,
  });
  const { store, arm, ...rest } = flags;
  return { store, options: { ...rest, ...(arm ? { arms: arm } : {}) } };
}

export function historyCommand(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'add':
      return guarded('history add', io, () => add(rest, io));
    case 'detect':
      return guarded('history detect', io, () => detect(rest, io));
    case 'show':
      return guarded('history show', io, () => show(rest, io));
    case '-h':
    case '--help':
    case 'help':
      io.stdout(HISTORY_HELP);
      return Promise.resolve(0);
    default:
      io.stderr(
        `athena-bench history: ${sub === undefined ? 'expected a subcommand' : `unknown subcommand "${sub}"`} (add, detect or show)\n\n${HISTORY_HELP}`,
      );
      return Promise.resolve(2);
  }
}

async function add(argv: string[], io: CommandIO): Promise<number> {
  const parsed = addFlags(argv, io);
  if (parsed === null) return 0;
  const { flags, resultsFile } = parsed;
  const results = await loadResultsFile(path.resolve(io.cwd, resultsFile));
  const point = pointFromResults(results, {
    ...(flags.commit ? { commit: flags.commit } : {}),
    ...(flags.runUrl ? { runUrl: flags.runUrl } : {}),
  });
  const dir = path.resolve(io.cwd, flags.store);
  const history = await readSuiteHistory(dir, results.suite.name);
  const outcome = appendPoints(history, [point], flags.retention);
  if (!outcome.added) {
    io.stdout(
      `${results.suite.name}: commit ${point.commit.slice(0, 12)} of ${point.time} is already in the history\n`,
    );
    return 0;
  }
  await writeSuiteHistory(dir, outcome.history);
  io.stdout(
    `${results.suite.name}: added commit ${point.commit.slice(0, 12)} (${Object.keys(point.workloads).length} workload(s)); ` +
      `${outcome.history.points.length} point(s)${outcome.dropped ? `, ${outcome.dropped} oldest dropped (retention ${flags.retention})` : ''}\n`,
  );
  return 0;
}

const AddFlagsSchema = z.object({
  store: requiredPath('the history directory (--store DIR)'),
  commit: CommitShaSchema.optional(),
  runUrl: z.url({ error: 'expected a URL' }).optional(),
  retention: numberFlag('a whole number >= 1')
    .refine((n) => Number.isInteger(n) && n >= 1, 'expected a whole number >= 1')
    .default(DEFAULT_RETENTION),
});

/** `history add`'s validated flags and its one results file; null after printing the help. */
function addFlags(
  argv: string[],
  io: CommandIO,
): { flags: z.infer<typeof AddFlagsSchema>; resultsFile: string } | null {
  const { values, positionals } = parseCommandLine(
    'history add',
    argv,
    {
      store: { type: 'string' },
      commit: { type: 'string' },
      'run-url': { type: 'string' },
      retention: { type: 'string' },
    },
    true,
  );
  if (values.help) {
    io.stdout(HISTORY_HELP);
    return null;
  }
  const flags = validate('history add', AddFlagsSchema, {
    store: values.store,
    commit: values.commit?.toLowerCase(),
    runUrl: values['run-url'],
    retention: values.retention,
  });
  if (positionals.length !== 1) {
    throw new UsageError(
      `athena-bench history add: expected exactly one results file, got ${positionals.length} (history add RESULTS.json --store DIR)`,
    );
  }
  return { flags, resultsFile: positionals[0]! };
}

function changeLine(c: ChangePoint): string {
  const note = [c.direction, c.environmentChanged ? 'machine changed' : null].filter(Boolean).join(', ');
  return (
    `${c.suite}\t${c.workload}\t${c.arm}\t${c.metric}\t${c.commit.slice(0, 12)}\t${formatShift(c)}` +
    `${note ? `\t(${note})` : ''}\n`
  );
}

async function detect(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandLine(
    'history detect',
    argv,
    { ...DETECT_FLAG_OPTIONS, json: { type: 'boolean' } },
    false,
  );
  if (values.help) {
    io.stdout(HISTORY_HELP);
    return 0;
  }
  const { histories, changes, options } = await readAndDetect('history detect', values, io);
  const seriesCount = histories.reduce((n, h) => n + seriesOf(h, options.arms).length, 0);
  if (values.json) {
    io.stdout(`${JSON.stringify({ series: seriesCount, changePoints: changes }, null, 2)}\n`);
    return 0;
  }
  if (changes.length > 0) io.stdout('suite\tworkload\tarm\tmetric\tcommit\tshift\n');
  for (const c of changes) io.stdout(changeLine(c));
  io.stdout(`${changes.length} change point(s) in ${seriesCount} series of ${histories.length} suite(s)\n`);
  return 0;
}

async function show(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandLine(
    'history show',
    argv,
    { ...DETECT_FLAG_OPTIONS, html: { type: 'string' } },
    false,
  );
  if (values.help) {
    io.stdout(HISTORY_HELP);
    return 0;
  }
  const html = validate(
    'history show',
    z.object({ html: requiredPath('the HTML file to write (--html OUT)') }),
    {
      html: values.html,
    },
  ).html;
  const { histories, changes, options } = await readAndDetect('history show', values, io);
  const out = path.resolve(io.cwd, html);
  try {
    await writeFile(out, renderHistoryDashboard(histories, changes, options));
  } catch (error) {
    throw new UsageError(`--html ${html}: cannot write the dashboard (${errorMessage(error)})`);
  }
  io.stdout(`wrote ${html}: ${histories.length} suite(s), ${changes.length} change point(s)\n`);
  return 0;
}
