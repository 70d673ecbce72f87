import { InfrastructureError } from '../../util/errors.ts';
import { which } from '../../util/which.ts';
import {
  cachedDetection,
  detectBinary,
  installHint,
  parsedOutput,
  requireBinary,
  runStatements,
} from '../common.ts';
import { driverEnvironment, withDriverDir } from '../sandbox.ts';
import type { Driver, DriverContext, DriverRun, WorkloadOf } from '../types.ts';
import { mysqlslapMetrics, parseMysqlslapOutput, type MysqlslapReport } from './parse.ts';

export type MysqlslapWorkload = WorkloadOf<'mysqlslap'>;

/**
 * The schema mysqlslap creates, fills and DROPS on every --auto-generate-sql run. It is never the
 * benchmark database: mysqlslap would drop that (and fails when it already exists).
 */
export const AUTO_GENERATE_SCHEMA = 'athena_bench_slap';

/** Queries per client and iteration when an auto-generate-sql workload does not say. */
export const DEFAULT_AUTO_QUERIES_PER_CLIENT = 20;

/** mysqlslap has no time limit: a run that takes longer than this is killed. */
const RUN_TIMEOUT_SEC = 600;

export interface MysqlslapDriverOptions {
  /** Binary names tried in order; mariadb-slap, then mysqlslap by default. */
  binaries?: readonly string[];
  find?: (name: string) => string | undefined;
}

/** "mariadb-slap  Ver 1.0 Distrib 10.11.19-MariaDB, for …" -> "mariadb-slap Ver 1.0 Distrib 10.11.19-MariaDB". */
export function parseMysqlslapVersion(output: string): string | null {
  const line = output
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /\bVer\s+\S+/.test(l));
  if (!line) return null;
  // Invoked by absolute path, mysqlslap prints that path: keep the program name only.
  return line
    .replace(/^\S*\//, '')
    .replace(/\s+/g, ' ')
    .replace(/,.*$/, '')
    .replace(/ for \S+ on .*$/, '');
}

/**
 * mysqlslap / mariadb-slap: the two commands of the performance-testing guide (docs/PERF.md).
 *   autoGenerateSql: --auto-generate-sql --number-int-cols --number-char-cols in its own schema
 *     (AUTO_GENERATE_SCHEMA), which mysqlslap creates and drops on every run;
 *   query: --query in the benchmark database (--create-schema=<db> --no-drop), whose tables the
 *     workload's setupSql creates in prepare() through the direct connection.
 * Each run is `--iterations` iterations of `--number-of-queries` queries over `threads` clients.
 * Warmup: when warmupSec > 0, one discarded iteration precedes the measured run (mysqlslap has no
 * time limit, so the suite's duration and --duration do not apply to it).
 * The password goes through the MYSQL_PWD environment variable, never the command line.
 */
export function createMysqlslapDriver(options: MysqlslapDriverOptions = {}): Driver<MysqlslapWorkload> {
  const binaries = options.binaries ?? ['mariadb-slap', 'mysqlslap'];
  const find = options.find ?? which;
  const detect = cachedDetection((exec) =>
    detectBinary(exec, binaries, installHint('mysql-client'), parseMysqlslapVersion, find),
  );
  const runSlap = async (w: MysqlslapWorkload, ctx: DriverContext, iterations: number) => {
    const { binary } = await requireBinary('mysqlslap', detect(ctx.exec));
    // A private working directory and the allow-listed environment (sandbox.ts).
    const result = await withDriverDir('mysqlslap', (dir) =>
      ctx.exec(binary, argsFor(w, ctx, iterations), {
        cwd: dir,
        env: driverEnvironment(process.env, { MYSQL_PWD: ctx.target.password }),
        timeoutMs: RUN_TIMEOUT_SEC * 1000,
        signal: ctx.signal,
      }),
    );
    return parsedOutput(`${binary} (${w.id})`, result, ctx, parseMysqlslapOutput);
  };
  return {
    name: 'mysqlslap',
    detect,
    prepare: async (w, ctx) => {
      await runStatements(
        ctx.target,
        [...leftoverSchema(w), ...w.options.setupSql],
        `mysqlslap ${w.id} setup`,
      );
    },
    run: (w, ctx) => runMeasured(w, (iterations) => runSlap(w, ctx, iterations)),
    cleanup: async (w, ctx) => {
      await runStatements(
        ctx.target,
        [...leftoverSchema(w), ...w.options.cleanupSql],
        `mysqlslap ${w.id} cleanup`,
      );
    },
  };
}

type SlapRun = (iterations: number) => Promise<{ report: MysqlslapReport; output: string }>;

/** The measured iterations, preceded by one discarded iteration when the workload warms up. */
async function runMeasured(w: MysqlslapWorkload, runSlap: SlapRun): Promise<DriverRun> {
  let warmupOutput = '';
  if (w.warmupSec > 0) {
    const warmup = await runSlap(1);
    warmupOutput = `# warmup iteration (discarded)\n${warmup.output}\n# measured run\n`;
  }
  const { report, output } = await runSlap(w.options.iterations);
  return {
    metrics: mysqlslapMetrics(report, w.options.iterations),
    loadGeneratorCpuUsPerQuery: null,
    rawOutput: warmupOutput + output,
  };
}

function argsFor(w: MysqlslapWorkload, ctx: DriverContext, iterations: number): string[] {
  return [
    '--no-defaults', // must come first: ~/.my.cnf must not change what is measured
    `--host=${ctx.target.host}`,
    `--port=${ctx.target.port}`,
    `--user=${ctx.target.user}`,
    '--protocol=tcp',
    ...(ctx.target.tls ? ['--ssl'] : []),
    `--concurrency=${w.threads}`,
    `--iterations=${iterations}`,
    ...(w.options.autoGenerateSql ? autoGenerateArgs(w, ctx) : queryArgs(w, ctx)),
    ...w.options.extraArgs,
  ];
}

function autoGenerateArgs(w: MysqlslapWorkload, ctx: DriverContext): string[] {
  const o = w.options;
  if (ctx.target.database === AUTO_GENERATE_SCHEMA) {
    throw new InfrastructureError(
      `the benchmark database may not be named ${AUTO_GENERATE_SCHEMA}: mysqlslap drops that schema`,
    );
  }
  return [
    '--auto-generate-sql',
    `--create-schema=${AUTO_GENERATE_SCHEMA}`,
    `--number-of-queries=${o.numberOfQueries ?? w.threads * DEFAULT_AUTO_QUERIES_PER_CLIENT}`,
    ...(o.numberIntCols !== undefined ? [`--number-int-cols=${o.numberIntCols}`] : []),
    ...(o.numberCharCols !== undefined ? [`--number-char-cols=${o.numberCharCols}`] : []),
  ];
}

function queryArgs(w: MysqlslapWorkload, ctx: DriverContext): string[] {
  const o = w.options;
  return [
    `--create-schema=${ctx.target.database}`,
    '--no-drop',
    `--query=${o.query ?? ''}`,
    ...(o.numberOfQueries !== undefined ? [`--number-of-queries=${o.numberOfQueries}`] : []),
  ];
}

const leftoverSchema = (w: MysqlslapWorkload): string[] =>
  w.options.autoGenerateSql ? [`DROP DATABASE IF EXISTS \`${AUTO_GENERATE_SCHEMA}\``] : [];
