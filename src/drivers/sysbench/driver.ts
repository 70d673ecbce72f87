import type { ExecOptions } from '../../util/exec.ts';
import { which } from '../../util/which.ts';
import {
  DRIVER_GRACE_SEC,
  assertExitedCleanly,
  cachedDetection,
  detectBinary,
  installHint,
  parsedOutput,
  requireBinary,
} from '../common.ts';
import type { Driver, DriverContext, DriverRun, RunOptions, WorkloadOf } from '../types.ts';
import {
  parseSysbenchIntervalLine,
  parseSysbenchOutput,
  parseSysbenchVersion,
  supportsWarmupTime,
  sysbenchMetrics,
} from './parse.ts';
import { withPasswordFile } from './passwordFile.ts';
import { driverEnvironment } from '../sandbox.ts';

export type SysbenchWorkload = WorkloadOf<'sysbench'>;

/** A timed run, or a fixed number of events bounded by a timeout. */
type RunLimit = { timeSec: number } | { events: number; timeoutSec: number };

export interface SysbenchDriverOptions {
  /** Binary name or path; `sysbench` on PATH by default. */
  binary?: string;
  /** Binary lookup (tests pass their own). */
  find?: (name: string) => string | undefined;
}

/**
 * sysbench's OLTP Lua tests. prepare() creates `tables` sbtestN tables of `tableSize` rows (after
 * dropping leftovers of an interrupted run); run() measures one arm; cleanup() drops the tables.
 *
 * Latency percentiles: every run passes `--percentile=<suite's percentile, 95 by default>` (the
 * printed "95th percentile" and the intermediate lines' latency) and `--histogram=on`, whose table
 * gives the other one of p95/p99 computed the way sysbench computes its own (see parse.ts).
 *
 * Warmup: sysbench >= 1.1 gets `--warmup-time`; 1.0.x has no such option, so a separate run of
 * warmupSec seconds precedes the measured one and its figures are discarded.
 *
 * The password goes in a 0600 config file (`--config-file`, see passwordFile.ts), never on the
 * command line; it is also removed from every output and error this driver returns.
 */
export function createSysbenchDriver(options: SysbenchDriverOptions = {}): Driver<SysbenchWorkload> {
  const binaryName = options.binary ?? 'sysbench';
  const find = options.find ?? which;
  const detect = cachedDetection((exec) =>
    detectBinary(
      exec,
      [binaryName],
      installHint('sysbench'),
      (out) => parseSysbenchVersion(out)?.version ?? null,
      find,
    ),
  );
  const binaryFor = (ctx: DriverContext) => requireBinary('sysbench', detect(ctx.exec));
  return {
    name: 'sysbench',
    detect,
    prepare: async (w, ctx) => {
      const planned = Math.max(120, (w.options.tables * w.options.tableSize) / 2000);
      // Leftovers of an interrupted run would make CREATE TABLE fail.
      await command(await binaryFor(ctx), w, ctx, 'cleanup', 120);
      await command(await binaryFor(ctx), w, ctx, 'prepare', planned);
    },
    run: async (w, ctx, opts: RunOptions = {}) => runSysbench(await binaryFor(ctx), w, ctx, opts),
    cleanup: async (w, ctx) => {
      await command(await binaryFor(ctx), w, ctx, 'cleanup', 120);
    },
  };
}

interface Sysbench {
  binary: string;
  version: string;
}

/** A measured run, preceded by a discarded warm-up run where sysbench has no --warmup-time. */
async function runSysbench(
  sysbench: Sysbench,
  w: SysbenchWorkload,
  ctx: DriverContext,
  opts: RunOptions,
): Promise<DriverRun> {
  const limit: RunLimit = opts.events
    ? { events: opts.events.count, timeoutSec: opts.events.timeoutSec }
    : { timeSec: opts.durationSec ?? w.options.timeSec };
  const extra = ['--histogram=on'];
  let warmupOutput = '';
  if (w.warmupSec > 0) {
    if (supportsWarmupTime(sysbench.version)) {
      extra.push(`--warmup-time=${w.warmupSec}`);
    } else {
      const warmup = await runOnce(sysbench.binary, w, ctx, { timeSec: w.warmupSec }, [], false);
      warmupOutput = `# warmup run (discarded)\n${warmup.output}\n# measured run\n`;
    }
  }
  const { report, output } = await runOnce(sysbench.binary, w, ctx, limit, extra, true);
  return {
    metrics: sysbenchMetrics(report),
    loadGeneratorCpuUsPerQuery: null,
    rawOutput: warmupOutput + output,
  };
}

function connectionArgs(ctx: DriverContext, passwordFile: string): string[] {
  return [
    `--config-file=${passwordFile}`,
    '--db-driver=mysql',
    `--mysql-host=${ctx.target.host}`,
    `--mysql-port=${ctx.target.port}`,
    `--mysql-user=${ctx.target.user}`,
    `--mysql-db=${ctx.target.database}`,
    ...(ctx.target.tls ? ['--mysql-ssl=on'] : []),
  ];
}

/**
 * Runs sysbench with the connection options in front of args, in a private working directory (its
 * TLS files' directory with TLS) with the allow-listed environment (sandbox.ts): sysbench looks
 * for the test's Lua script and oltp_common.lua in its working directory first, then in its own
 * install directory, so what runs is the installed scripts, never a checkout's.
 */
function execSysbench(binary: string, ctx: DriverContext, args: string[], options: ExecOptions) {
  return withPasswordFile(ctx.target.password, (file, dir) =>
    ctx.exec(binary, [args[0]!, ...connectionArgs(ctx, file), ...args.slice(1)], {
      ...options,
      cwd: ctx.target.tls ? ctx.target.tls.filesDir : dir,
      env: driverEnvironment(process.env),
    }),
  );
}

const dataArgs = (w: SysbenchWorkload): string[] => [
  `--tables=${w.options.tables}`,
  `--table-size=${w.options.tableSize}`,
];

/** prepare/cleanup: the same test script, a command, checked exit. */
async function command(
  { binary }: Sysbench,
  w: SysbenchWorkload,
  ctx: DriverContext,
  cmd: 'prepare' | 'cleanup',
  timeoutSec: number,
) {
  const args = [
    w.options.test,
    ...dataArgs(w),
    // sysbench 1.0 prepares tables in parallel, one thread per table.
    `--threads=${Math.min(w.options.tables, 4)}`,
    cmd,
  ];
  const result = await execSysbench(binary, ctx, args, {
    timeoutMs: timeoutSec * 1000,
    signal: ctx.signal,
  });
  assertExitedCleanly(`sysbench ${w.options.test} ${cmd}`, result, ctx, [ctx.target.password]);
  return result;
}

async function runOnce(
  binary: string,
  w: SysbenchWorkload,
  ctx: DriverContext,
  limit: RunLimit,
  extra: string[],
  reportProgress: boolean,
) {
  const warmupSec = extra.some((a) => a.startsWith('--warmup-time=')) ? w.warmupSec : 0;
  const result = await execSysbench(binary, ctx, runArgs(w, limit, extra), {
    timeoutMs: (('events' in limit ? limit.timeoutSec : limit.timeSec) + warmupSec + DRIVER_GRACE_SEC) * 1000,
    signal: ctx.signal,
    onStdoutLine: reportProgress && ctx.onProgress ? progressListener(ctx.onProgress) : undefined,
  });
  return parsedOutput(`sysbench ${w.options.test} run`, result, ctx, parseSysbenchOutput);
}

function runArgs(w: SysbenchWorkload, limit: RunLimit, extra: string[]): string[] {
  return [
    w.options.test,
    ...dataArgs(w),
    `--threads=${w.threads}`,
    // --time=N alone would also stop at the default --events=0 (unlimited): explicit for clarity.
    ...('events' in limit
      ? ['--time=0', `--events=${limit.events}`]
      : [`--time=${limit.timeSec}`, '--events=0']),
    `--report-interval=${w.options.reportIntervalSec}`,
    `--percentile=${w.options.percentile}`,
    `--db-ps-mode=${w.options.psMode}`,
    ...extra,
    ...w.options.extraArgs,
    'run',
  ];
}

function progressListener(onProgress: NonNullable<DriverContext['onProgress']>): (line: string) => void {
  return (line) => {
    const interval = parseSysbenchIntervalLine(line);
    if (interval) onProgress({ elapsedSec: interval.tSec, tps: interval.tps, qps: interval.qps });
  };
}
