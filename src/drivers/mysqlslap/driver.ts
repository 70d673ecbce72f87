import { InfrastructureError } from '../../errors.ts';
import { redact } from '../../mysql/url.ts';
import type { Exec } from '../../util/exec.ts';
import { which } from '../../util/which.ts';
import { assertExitedCleanly, detectBinary, installHint, runStatements } from '../common.ts';
import type { Driver, DriverContext, DriverDetection, DriverRun, WorkloadOf } from '../types.ts';
import { mysqlslapMetrics, parseMysqlslapOutput } from './parse.ts';

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
 * mysqlslap / mariadb-slap: the seed's two commands.
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
  const detections = new WeakMap<Exec, Promise<DriverDetection>>();

  const detect = (exec: Exec): Promise<DriverDetection> => {
    let cached = detections.get(exec);
    if (!cached) {
      cached = detectBinary(exec, binaries, installHint('mysql-client'), parseMysqlslapVersion, find);
      detections.set(exec, cached);
    }
    return cached;
  };

  const argsFor = (w: MysqlslapWorkload, ctx: DriverContext, iterations: number): string[] => {
    const o = w.options;
    const args = [
      '--no-defaults', // must come first: ~/.my.cnf must not change what is measured
      `--host=${ctx.target.host}`,
      `--port=${ctx.target.port}`,
      `--user=${ctx.target.user}`,
      '--protocol=tcp',
      ...(ctx.target.tls ? ['--ssl'] : []),
      `--concurrency=${w.threads}`,
      `--iterations=${iterations}`,
    ];
    if (o.autoGenerateSql) {
      if (ctx.target.database === AUTO_GENERATE_SCHEMA) {
        throw new InfrastructureError(
          `the benchmark database may not be named ${AUTO_GENERATE_SCHEMA}: mysqlslap drops that schema`,
        );
      }
      args.push(
        '--auto-generate-sql',
        `--create-schema=${AUTO_GENERATE_SCHEMA}`,
        `--number-of-queries=${o.numberOfQueries ?? w.threads * DEFAULT_AUTO_QUERIES_PER_CLIENT}`,
      );
      if (o.numberIntCols !== undefined) args.push(`--number-int-cols=${o.numberIntCols}`);
      if (o.numberCharCols !== undefined) args.push(`--number-char-cols=${o.numberCharCols}`);
    } else {
      args.push(`--create-schema=${ctx.target.database}`, '--no-drop', `--query=${o.query ?? ''}`);
      if (o.numberOfQueries !== undefined) args.push(`--number-of-queries=${o.numberOfQueries}`);
    }
    args.push(...o.extraArgs);
    return args;
  };

  const runSlap = async (w: MysqlslapWorkload, ctx: DriverContext, iterations: number) => {
    const detection = await detect(ctx.exec);
    if (!detection.available) {
      throw new InfrastructureError(
        `mysqlslap is not available (${detection.reason}). Install it: ${detection.installHint}`,
      );
    }
    const result = await ctx.exec(detection.binary, argsFor(w, ctx, iterations), {
      env: { ...process.env, MYSQL_PWD: ctx.target.password },
      timeoutMs: RUN_TIMEOUT_SEC * 1000,
      signal: ctx.signal,
    });
    const secrets = [ctx.target.password];
    const output = redact(`${result.stdout}${result.stderr ? `\n${result.stderr}` : ''}`, secrets);
    if (result.exitCode !== 0 || result.timedOut || result.aborted) {
      if (!result.timedOut && !result.aborted) parseMysqlslapOutput(output); // throws, naming mysqlslap's error
      assertExitedCleanly(`${detection.binary} (${w.id})`, result, ctx, secrets);
    }
    return { report: parseMysqlslapOutput(output), output };
  };

  const leftoverSchema = (w: MysqlslapWorkload): string[] =>
    w.options.autoGenerateSql ? [`DROP DATABASE IF EXISTS \`${AUTO_GENERATE_SCHEMA}\``] : [];

  return {
    name: 'mysqlslap',
    detect,

    async prepare(w, ctx) {
      await runStatements(
        ctx.target,
        [...leftoverSchema(w), ...w.options.setupSql],
        `mysqlslap ${w.id} setup`,
      );
    },

    async run(w, ctx): Promise<DriverRun> {
      let warmupOutput = '';
      if (w.warmupSec > 0) {
        const warmup = await runSlap(w, ctx, 1);
        warmupOutput = `# warmup iteration (discarded)\n${warmup.output}\n# measured run\n`;
      }
      const { report, output } = await runSlap(w, ctx, w.options.iterations);
      return {
        metrics: mysqlslapMetrics(report, w.options.iterations),
        loadGeneratorCpuUsPerQuery: null,
        rawOutput: warmupOutput + output,
      };
    },

    async cleanup(w, ctx) {
      await runStatements(
        ctx.target,
        [...leftoverSchema(w), ...w.options.cleanupSql],
        `mysqlslap ${w.id} cleanup`,
      );
    },
  };
}
