import path from 'node:path';
import { z } from 'zod';
import { ExitCode } from '../util/errors.ts';
import { mergeShards } from '../gate/merge.ts';
import type { Reference } from '../gate/reference.ts';
import { loadBaseline } from '../verdict/baseline.ts';
import { parseCommandLine, validate, type CommandIO } from './flags.ts';
import { printVerdict } from './run.ts';

export const MERGE_HELP = `Usage: athena-bench merge DIR… [--out DIR] [--baseline FILE | --base-arm NAME]
                          [--fail-on-inconclusive]

Merges the output directories of a sharded run (athena-bench run --shard i/n, one per job) into
the results one run of the whole suite would have written, and judges them as one: Holm's
correction over every gated hypothesis of every shard. Refuses shards of different suites,
commits or references; a missing or failed shard is an infrastructure failure naming the shard.

Options:
  --out DIR                 where results.json, report.md and report.html go (default: merged)
  --baseline FILE           judge against this baseline
  --base-arm NAME           judge the proxy arm against arm NAME of the same runs (base-vs-head)
                            (default: the shards' own base arm when they ran base-vs-head, else
                            a measurement only)
  --fail-on-inconclusive    exit 1 on an inconclusive verdict too
  -h, --help                this help

Exit codes: 0 pass (also improved, and inconclusive unless --fail-on-inconclusive), 1 regression,
2 usage error (flag, unreadable file, shards that are not one run), 3 a shard missing or failed.
`;

const MergeFlagsSchema = z
  .object({
    dirs: z.array(z.string().min(1)).min(1, 'expected at least one shard directory'),
    out: z.string().min(1).default('merged'),
    baseline: z.string().min(1).optional(),
    'base-arm': z.string().min(1).optional(),
    'fail-on-inconclusive': z.boolean().default(false),
  })
  .refine((f) => f.baseline === undefined || f['base-arm'] === undefined, {
    message: 'give at most one of --baseline FILE or --base-arm NAME',
    path: ['baseline'],
  });

export type MergeCommandIO = Pick<CommandIO, 'stdout' | 'cwd'>;

/** `athena-bench merge`: the shards' directories → one results.json, one verdict, one report. */
export async function mergeCommand(argv: string[], io: MergeCommandIO): Promise<number> {
  const parsed = parseCommandLine(
    'merge',
    argv,
    {
      out: { type: 'string' },
      baseline: { type: 'string' },
      'base-arm': { type: 'string' },
      'fail-on-inconclusive': { type: 'boolean' },
    },
    true,
  );
  if (parsed.values.help) {
    io.stdout(MERGE_HELP);
    return ExitCode.Pass;
  }
  const flags = validate(
    'merge',
    MergeFlagsSchema,
    { ...parsed.values, dirs: parsed.positionals },
    { dirs: 'DIR…' },
  );
  const resolve = (p: string) => path.resolve(io.cwd, p);
  const outcome = await mergeShards(
    flags.dirs.map(resolve),
    resolve(flags.out),
    await referenceOf(flags, resolve),
  );
  return printVerdict(outcome, flags['fail-on-inconclusive'], io.stdout);
}

async function referenceOf(
  flags: z.infer<typeof MergeFlagsSchema>,
  resolve: (p: string) => string,
): Promise<Reference | undefined> {
  if (flags.baseline) {
    const file = resolve(flags.baseline);
    return { kind: 'baseline', file, baseline: await loadBaseline(file) };
  }
  if (flags['base-arm']) {
    return {
      kind: 'base-ref',
      ref: flags['base-arm'],
      commit: null,
      headArm: 'proxy',
      baseArm: flags['base-arm'],
    };
  }
  return undefined;
}
