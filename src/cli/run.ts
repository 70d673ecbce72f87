import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { MEASURES } from '../model/channel.ts';
import { ExitCode, UsageError } from '../util/errors.ts';
import { driverFor } from '../drivers/index.ts';
import { parseMysqlUrl } from '../mysql/url.ts';
import { loadSuite } from '../suite/load.ts';
import { MYSQL_READY_TIMEOUT_SEC } from '../mysql/waitForServer.ts';
import { applySuiteOverrides, ThresholdListSchema } from '../suite/overrides.ts';
import type { Exec } from '../util/exec.ts';
import type { Suite } from '../suite/schema.ts';
import { loadBaseline } from '../verdict/baseline.ts';
import { exitCodeFor } from '../model/verdict.ts';
import { runGate, type GateOutcome } from '../gate/runGate.ts';
import { runnerFingerprint } from '../gate/fingerprint.ts';
import { diskFiles, preflightGate } from '../gate/preflight.ts';
import { gitOps } from '../gate/git.ts';
import { chooseReference, isInside, type ChosenReference, type ReferenceRequest } from '../gate/reference.ts';
import { waitForServer } from '../mysql/index.ts';
import type { Target } from '../engine/context.ts';
import { ShardSpecSchema } from '../gate/shard.ts';
import { renderTerminalSummary } from '../report/terminal.ts';
import { PassThroughNamesSchema } from '../util/childEnvironment.ts';
import { parse, validate, type CommandIO } from './flags.ts';
import {
  athenaArm,
  athenaTlsArm,
  baseRefArm,
  haproxyArm,
  nodePipeArm,
  type ArmSource,
  type ProxyArmSpec,
} from '../engine/arms.ts';

/** The reference arms `--reference` can add. */
const REFERENCE_ARMS = ['haproxy', 'node-pipe', 'athena-tls'] as const;
import { createProgress, type ProgressStream } from '../harness/progress.ts';

export const RUN_HELP = `Usage: athena-bench run [options]

Benchmarks a MySQL proxy against direct MySQL: builds and starts the proxy, runs the suite's
workloads (sysbench, mysqlslap) through both in interleaved rounds, writes results.json and
report.md (and report.html) to the output directory, and prints the verdict (one line per
workload), the throughput table and where the report is. The verdict is against --base-ref, else
--baseline, else baselines/<suite>.json when it was recorded for this proxy on a matching runner,
else (in a git checkout) against HEAD: your working tree against the last commit.

Where:
  --mysql URL               mysql://user:pass@host:port/db of a running server (default: a
                            throwaway local MariaDB/MySQL, started and removed by the run)
  --suite NAME|FILE         default | quick | proxy-comparison | a .json/.yaml/.yml suite file
                            (default: default; the format: docs/SUITES.md)
  --out DIR                 output directory (default: .athena-bench/run-<timestamp>, with
                            .athena-bench/latest pointing at it)
  --shard i/n               run only shard i of n of the suite's workloads (1 <= i <= n <= 64;
                            split by expected duration, the same split in every job); merge the
                            shards' output directories with athena-bench merge

The proxy (default: this repository's Athena, built with \`node scripts/build.mjs --proxy-only\`
and started with a generated config on free ports):
  --proxy-start CMD         shell command that runs your proxy in the foreground; it gets
                            ATHENA_BENCH_MYSQL_{HOST,PORT,USER,PASSWORD,DATABASE},
                            ATHENA_BENCH_PROXY_PORT and ATHENA_BENCH_OUT_DIR in its environment
  --proxy-port N            the port clients connect to (required with --proxy-start)
  --proxy-build CMD         shell command run once before start (with or without --proxy-start)
  --proxy-metrics-url URL   Prometheus endpoint scraped before and after each run
  --proxy-cwd DIR           working directory of build and start (default: the current one)
  --proxy-env NAME,NAME     environment variables build and start also get; otherwise they see
                            PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TZ, TMPDIR
                            and the ATHENA_BENCH_* variables only
  --ready-timeout SECONDS   how long the proxy may take to answer a MySQL handshake (default 30)
  --mysql-ready-timeout SECONDS
                            how long the server given by --mysql may take to accept a connection
                            (default ${MYSQL_READY_TIMEOUT_SEC})
  --no-traffic-check        do not require athena_queries_total to count the benchmark's queries
                            (for proxies whose metrics do not count queries)

Extra arms (--reference takes one or more, comma-separated):
  --reference haproxy       also run haproxy in TCP mode (an L4 reference, no parsing)
  --reference node-pipe     also run a bare Node TCP pipe (scripts/node-pipe.mjs): the floor of a
                            proxy written for Node
  --reference athena-tls    also run this repository's Athena with TLS to its clients (a
                            self-signed certificate; the clients connect with TLS): what
                            encrypting the client leg costs
  --base-ref REF            also build and run the proxy from git REF (a temporary worktree) and
                            gate this tree's proxy against it

What to measure:
  --measure work|time|both  work: instructions, syscalls and MySQL round trips per query, counted
                            with the proxy under valgrind (callgrind) in windows of a fixed event
                            count (noise-free: gates a 1-2% change); time: TPS, latency and CPU
                            time per query in interleaved rounds (catches sleeps, locks, lost
                            pipelining); both (default). Without valgrind, both measures time
                            with a warning and work fails (exit 3).

Rounds and verdict:
  --rounds N                planned rounds per workload, 1-200 (default: the suite's)
  --duration SECONDS        measured seconds per sysbench/builtin run (default: the suite's);
                            mysqlslap runs its iterations
  --threshold METRIC=N%,... the verdict's thresholds for every workload, e.g. tps=5%,p95=10%
                            (overhead in points: overhead=3pts; errors a count: errors=2);
                            metric names and aliases in docs/SUITES.md (default: the suite's,
                            else the built-in ones)
  --budget-minutes N        no adaptive rounds past this budget (default: the suite's)
  --baseline FILE           compare against this baseline (athena-bench baseline)
  --no-baseline             measure only: no baseline and no comparison with HEAD
  --fail-on-inconclusive    exit 1 on an inconclusive verdict too
  -h, --help                this help

Exit codes: 0 pass (also improved, and inconclusive unless --fail-on-inconclusive),
1 regression, 2 usage or configuration error, 3 infrastructure failure (MySQL, proxy, driver,
traffic check, interrupted).
`;

const positiveInt = (what: string) =>
  z
    .string()
    .regex(/^\d+$/, `expected ${what} (a whole number)`)
    .transform(Number)
    .pipe(z.number().int().min(1, `expected ${what} >= 1`));
const positiveNumber = (what: string) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, `expected ${what} (a number)`)
    .transform(Number)
    .pipe(z.number().positive(`expected ${what} > 0`));

const RunFlagsSchema = z
  .object({
    mysql: z.string().optional(),
    suite: z.string().min(1).default('default'),
    'proxy-build': z.string().min(1, 'expected a shell command').optional(),
    'proxy-start': z.string().min(1, 'expected a shell command').optional(),
    'proxy-port': positiveInt('a TCP port')
      .pipe(z.number().max(65535, 'expected a TCP port <= 65535'))
      .optional(),
    'proxy-metrics-url': z.url({ protocol: /^https?$/, error: 'expected an http:// URL' }).optional(),
    'proxy-cwd': z.string().min(1).optional(),
    'proxy-env': PassThroughNamesSchema.optional(),
    'ready-timeout': positiveNumber('seconds').optional(),
    'mysql-ready-timeout': positiveNumber('seconds').optional(),
    'no-traffic-check': z.boolean().default(false),
    reference: z
      .string()
      .transform((list) => list.split(',').map((name) => name.trim()))
      .pipe(
        z
          .array(
            z.enum(REFERENCE_ARMS, {
              error: `expected ${REFERENCE_ARMS.join(', ')} (the reference arms built in), comma-separated`,
            }),
          )
          .refine((names) => new Set(names).size === names.length, 'expected each reference arm once'),
      )
      .optional(),
    'base-ref': z.string().min(1).optional(),
    rounds: positiveInt('a round count').pipe(z.number().max(200, 'expected at most 200 rounds')).optional(),
    duration: positiveNumber('seconds').optional(),
    threshold: ThresholdListSchema.optional(),
    'budget-minutes': positiveNumber('minutes').optional(),
    baseline: z.string().min(1).optional(),
    'no-baseline': z.boolean().default(false),
    'fail-on-inconclusive': z.boolean().default(false),
    out: z.string().min(1).optional(),
    measure: z.enum(MEASURES, { error: 'expected work, time or both' }).default('both'),
    shard: ShardSpecSchema.optional(),
    help: z.boolean().default(false),
  })
  .superRefine((f, ctx) => {
    if (f.baseline !== undefined && f['no-baseline']) {
      ctx.addIssue({ code: 'custom', path: ['no-baseline'], message: 'contradicts --baseline' });
    }
    if (f['proxy-start'] !== undefined && f['proxy-port'] === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['proxy-port'],
        message: 'required with --proxy-start (the port your proxy listens on)',
      });
    }
    for (const flag of ['proxy-port', 'proxy-metrics-url', 'proxy-cwd'] as const) {
      if (f[flag] !== undefined && f['proxy-start'] === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [flag],
          message: 'only meaningful with --proxy-start (the default Athena arm picks its own ports)',
        });
      }
    }
  });
export type RunFlags = z.infer<typeof RunFlagsSchema>;

/** Every flag of `run` (the README's table lists exactly these). */
export const RUN_FLAG_TYPES = {
  mysql: { type: 'string' },
  suite: { type: 'string' },
  'proxy-build': { type: 'string' },
  'proxy-start': { type: 'string' },
  'proxy-port': { type: 'string' },
  'proxy-metrics-url': { type: 'string' },
  'proxy-cwd': { type: 'string' },
  'proxy-env': { type: 'string' },
  'ready-timeout': { type: 'string' },
  'mysql-ready-timeout': { type: 'string' },
  'no-traffic-check': { type: 'boolean' },
  reference: { type: 'string' },
  'base-ref': { type: 'string' },
  rounds: { type: 'string' },
  duration: { type: 'string' },
  threshold: { type: 'string' },
  'budget-minutes': { type: 'string' },
  baseline: { type: 'string' },
  'no-baseline': { type: 'boolean' },
  'fail-on-inconclusive': { type: 'boolean' },
  out: { type: 'string' },
  measure: { type: 'string' },
  shard: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses and validates `run`'s flags; every problem is a UsageError naming the flag. */
export function parseRunFlags(argv: string[]): RunFlags {
  return validate('run', RunFlagsSchema, parse('run', argv, RUN_FLAG_TYPES));
}

/** What `run` and `calibrate` use besides a CommandIO: a live progress stream, processes, a signal. */
export interface RunCommandIO extends Omit<CommandIO, 'stderr'> {
  stderr: ProgressStream;
  exec: Exec;
  /** The athena-bench package root: where this repo's Athena is built from. */
  repoRoot: string;
  /** Aborted on SIGINT/SIGTERM: the run cleans up and fails. */
  signal?: AbortSignal;
  now?: () => number;
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** The default output directory, .athena-bench/run-<timestamp>, with .athena-bench/latest -> it. */
function defaultOutDir(cwd: string, now: Date): string {
  const root = path.join(cwd, '.athena-bench');
  const dir = path.join(root, `run-${timestamp(now)}`);
  mkdirSync(dir, { recursive: true });
  const latest = path.join(root, 'latest');
  try {
    rmSync(latest, { force: true });
    symlinkSync(path.basename(dir), latest);
  } catch {
    // A convenience only.
  }
  return dir;
}

/** `athena-bench run`: flags → the gate (src/gate) → the report and an exit code. */
export async function runCommand(argv: string[], io: RunCommandIO): Promise<number> {
  const flags = parseRunFlags(argv);
  if (flags.help) {
    io.stdout(RUN_HELP);
    return ExitCode.Pass;
  }
  const now = io.now ?? Date.now;
  const suite = applySuiteOverrides(await loadSuite(flags.suite), {
    thresholds: flags.threshold ?? {},
    ...(flags.rounds !== undefined ? { rounds: flags.rounds } : {}),
    ...(flags.duration !== undefined ? { durationSec: flags.duration } : {}),
  });
  const mysql = flags.mysql ? parseMysqlUrl(flags.mysql) : undefined;
  const progress = createProgress(io.stderr, now);
  const log = (line: string) => progress.note(line);
  const target = mysql ? { ...mysql, database: mysql.database ?? 'test' } : undefined;
  const chosen = await cliReference(flags, suite, target, io, log);
  const outcome = await runGate(
    {
      ...(target ? { mysql: target } : {}),
      suite,
      arms: cliArms(flags, io, chosen),
      reference: chosen.reference,
      outDir: flags.out ? path.resolve(io.cwd, flags.out) : defaultOutDir(io.cwd, new Date(now())),
      repoRoot: io.repoRoot,
      ...(flags['proxy-env'] ? { proxyEnv: flags['proxy-env'] } : {}),
      trafficCheck: !flags['no-traffic-check'],
      measure: flags.measure,
      mysqlReadyTimeoutMs: (flags['mysql-ready-timeout'] ?? MYSQL_READY_TIMEOUT_SEC) * 1000,
      ...(flags['budget-minutes'] !== undefined ? { budgetMinutes: flags['budget-minutes'] } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      ...(flags.shard ? { shard: flags.shard } : {}),
    },
    { exec: io.exec, now, log, progress, env: io.env, driverFor },
  );
  return printVerdict(outcome, flags['fail-on-inconclusive'], io.stdout);
}

/** The terminal's one screen (the verdict, the throughput table, the report paths) and the exit code. */
export function printVerdict(
  outcome: Pick<GateOutcome, 'results' | 'comparison' | 'reportPath' | 'htmlPath' | 'resultsPath'>,
  failOnInconclusive: boolean,
  stdout: (s: string) => void,
): number {
  stdout(
    renderTerminalSummary(outcome.results, outcome.comparison, {
      report: outcome.reportPath,
      html: outcome.htmlPath,
      results: outcome.resultsPath,
    }),
  );
  return outcome.comparison ? exitCodeFor(outcome.comparison, { failOnInconclusive }) : ExitCode.Pass;
}

/** The directory the proxy is built in: --proxy-cwd for --proxy-start, else the athena-bench package. */
function proxyDirOf(flags: RunFlags, io: RunCommandIO): string {
  return flags['proxy-start'] !== undefined ? path.resolve(io.cwd, flags['proxy-cwd'] ?? '.') : io.repoRoot;
}

/**
 * With nothing else to compare with, the working tree is gated against HEAD, built in a worktree
 * next to it. Another proxy must be able to run twice (src/gate/preflight.ts: it listens on
 * $ATHENA_BENCH_PROXY_PORT, from files a clean checkout has); one that cannot is measured alone,
 * saying why, rather than refused: nobody asked for the comparison.
 */
function headFallback(flags: RunFlags, io: RunCommandIO): ReferenceRequest['fallback'] {
  const custom = customProxyArm(flags, io);
  if (custom === null) return { kind: 'head' };
  const reference = {
    kind: 'base-ref',
    ref: 'HEAD',
    commit: null,
    headArm: 'proxy',
    baseArm: 'base',
  } as const;
  try {
    preflightGate({ reference, arms: [custom] }, diskFiles);
    return { kind: 'head' };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return {
      kind: 'none',
      why: `HEAD's build cannot run next to it (${error.message}); --base-ref compares anyway`,
    };
  }
}

/** What the verdict compares with, by the gate's rules (src/gate/reference.ts). */
function cliReference(
  flags: RunFlags,
  suite: Suite,
  mysql: Target | undefined,
  io: RunCommandIO,
  log: (line: string) => void,
): Promise<ChosenReference> {
  const defaults = [io.cwd, io.repoRoot].map((dir) => path.join(dir, 'baselines', `${suite.name}.json`));
  const fingerprint = async () =>
    runnerFingerprint({
      suite,
      measure: flags.measure,
      mysqlVersion: mysql
        ? (await waitForServer(mysql, (flags['mysql-ready-timeout'] ?? MYSQL_READY_TIMEOUT_SEC) * 1000))
            .version
        : null,
      exec: io.exec,
      env: io.env,
      driverFor,
    });
  return chooseReference(
    {
      suite,
      measure: flags.measure,
      baseRef: flags['base-ref'] ?? null,
      baseline: flags.baseline ? path.resolve(io.cwd, flags.baseline) : null,
      noBaseline: flags['no-baseline'],
      defaultBaselines: defaults.map((file) => ({ file, forAthena: isInside(file, io.repoRoot) })),
      athena: flags['proxy-start'] === undefined,
      proxyDir: proxyDirOf(flags, io),
      fallback: headFallback(flags, io),
      names: {
        baseRef: '--base-ref',
        baseline: '--baseline',
        makeBaseline: 'make one with athena-bench baseline --results results.json --out FILE',
      },
    },
    { git: gitOps(io.exec), loadBaseline, fingerprint, log },
  );
}

/** The proxy under test (--proxy-start, or this repository's Athena), then the base and --reference arms. */
function cliArms(flags: RunFlags, io: RunCommandIO, chosen: ChosenReference): ArmSource[] {
  const readyTimeoutMs = flags['ready-timeout'] !== undefined ? flags['ready-timeout'] * 1000 : undefined;
  const withTimeout = (source: ArmSource): ArmSource => {
    if (readyTimeoutMs === undefined) return source;
    if (typeof source !== 'function') return { ...source, readyTimeoutMs };
    return async (ctx) => ({ ...(await source(ctx)), readyTimeoutMs });
  };
  const custom = customProxyArm(flags, io);
  const build = flags['proxy-build'];
  const proxyCwd = proxyDirOf(flags, io);
  const arms: ArmSource[] = [];
  if (custom) {
    arms.push(custom);
  } else {
    const athena = athenaArm(io.repoRoot);
    arms.push(build === undefined ? athena : async (ctx) => ({ ...(await athena(ctx)), build }));
  }
  const { reference, checkout } = chosen;
  if (reference.kind === 'base-ref' && checkout !== null) {
    arms.push(
      baseRefArm(checkout, reference.commit ?? reference.ref, {
        relativeCwd: path.relative(checkout, proxyCwd),
        ...(build !== undefined ? { build } : {}),
        ...(custom ? { start: flags['proxy-start']! } : {}),
      }),
    );
  }
  const references = { haproxy: haproxyArm, 'node-pipe': nodePipeArm, 'athena-tls': athenaTlsArm };
  for (const name of flags.reference ?? []) arms.push(references[name](io.repoRoot));
  return arms.map(withTimeout);
}

/** The --proxy-start proxy under test, or null for this repository's Athena. */
function customProxyArm(flags: RunFlags, io: RunCommandIO): ProxyArmSpec | null {
  const start = flags['proxy-start'];
  if (start === undefined) return null;
  const build = flags['proxy-build'];
  return {
    name: 'proxy',
    role: 'proxy',
    start,
    port: flags['proxy-port']!,
    cwd: proxyDirOf(flags, io),
    trafficCheck: true,
    ...(build !== undefined ? { build } : {}),
    ...(flags['proxy-metrics-url'] !== undefined ? { metricsUrl: flags['proxy-metrics-url'] } : {}),
  };
}
