import path from 'node:path';
import { z } from 'zod';
import { MEASURES } from '../model/channel.ts';
import { ExitCode } from '../util/errors.ts';
import { driverFor } from '../drivers/index.ts';
import { athenaArm } from '../engine/arms.ts';
import { createProgress } from '../harness/progress.ts';
import { TWIN_ARM, calibrate } from '../gate/calibrate.ts';
import { parseMysqlUrl } from '../mysql/url.ts';
import { loadSuite } from '../suite/load.ts';
import { parse, validate } from './flags.ts';
import type { RunCommandIO } from './run.ts';

export const CALIBRATE_HELP = `Usage: athena-bench calibrate [options]

How noisy is this runner, and what can the gate detect on it? Runs this repository's Athena
twice in one run (an A/A comparison: the same build as head and as base), then prints per
workload and gated metric how far the twin landed, the half-width of its 95% interval, the
smallest regression this suite's budget can report, and the samples (rounds, or work windows)
that would detect --target.

  --suite NAME|FILE          default | quick | proxy-comparison | a suite file (default: quick)
  --measure work|time|both   the channels to calibrate (default: both)
  --mysql URL                a running server (default: a throwaway local MariaDB/MySQL)
  --rounds N                 planned rounds of the time channel (default: the suite's)
  --windows N                settled work-channel windows per arm (default: the suite's; fewer
                             is quicker and the table coarser: its Samples column says so)
  --duration SECONDS         seconds per timed run (default: the suite's)
  --target PERCENT           the regression to size the budget for (default: 5)
  --out DIR                  output directory (default: .athena-bench/calibrate)
  -h, --help                 this help

Exit codes: 0 done, 2 usage error, 3 infrastructure failure.
`;

const positive = (what: string) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, `expected ${what}`)
    .transform(Number)
    .pipe(z.number().positive());

const FlagsSchema = z.object({
  suite: z.string().min(1).default('quick'),
  measure: z.enum(MEASURES, { error: 'expected work, time or both' }).default('both'),
  mysql: z.string().optional(),
  rounds: positive('a round count').pipe(z.number().int()).optional(),
  windows: positive('a window count').pipe(z.number().int().min(2, 'expected at least 2 windows')).optional(),
  duration: positive('seconds').optional(),
  target: positive('a percentage').default(5),
  out: z.string().min(1).default('.athena-bench/calibrate'),
  help: z.boolean().default(false),
});

function parseFlags(argv: string[]): z.infer<typeof FlagsSchema> {
  const options = Object.fromEntries(
    ['suite', 'measure', 'mysql', 'rounds', 'windows', 'duration', 'target', 'out'].map((k) => [
      k,
      { type: 'string' },
    ]),
  ) as Record<string, { type: 'string' }>;
  return validate('calibrate', FlagsSchema, parse('calibrate', argv, options));
}

/** `athena-bench calibrate`: an A/A run of this repository's proxy, and what it says about the runner. */
export async function calibrateCommand(argv: string[], io: RunCommandIO): Promise<number> {
  const flags = parseFlags(argv);
  if (flags.help) {
    io.stdout(CALIBRATE_HELP);
    return ExitCode.Pass;
  }
  const now = io.now ?? Date.now;
  const progress = createProgress(io.stderr, now);
  const mysql = flags.mysql ? parseMysqlUrl(flags.mysql) : undefined;
  const twin = athenaArm(io.repoRoot, { name: TWIN_ARM, role: 'base' });
  const { outcome, text } = await calibrate(
    {
      ...(mysql ? { mysql: { ...mysql, database: mysql.database ?? 'test' } } : {}),
      suite: await loadSuite(flags.suite),
      proxy: athenaArm(io.repoRoot),
      twin: async (ctx) => ({ ...(await twin(ctx)), build: undefined }), // one build serves both
      targetPct: flags.target,
      outDir: path.resolve(io.cwd, flags.out),
      repoRoot: io.repoRoot,
      measure: flags.measure,
      ...(flags.rounds !== undefined ? { rounds: flags.rounds } : {}),
      ...(flags.windows !== undefined ? { windows: flags.windows } : {}),
      ...(flags.duration !== undefined ? { durationSec: flags.duration } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
    },
    { exec: io.exec, now, log: (line) => progress.note(line), progress, env: io.env, driverFor },
  );
  io.stdout(`athena-bench calibrate: ${text}report: ${outcome.reportPath}\n`);
  return ExitCode.Pass;
}
