import mysql from 'mysql2/promise';
import { InfrastructureError, errorMessage } from '../util/errors.ts';
import { formatMysqlUrl, redact } from '../mysql/url.ts';
import type { Exec, ExecResult } from '../util/exec.ts';
import { tailLines } from '../util/exec.ts';
import { which } from '../util/which.ts';
import { driverEnvironment } from './sandbox.ts';
import type { DriverContext, DriverDetection } from './types.ts';

export type Detect = (exec: Exec) => Promise<DriverDetection>;

/** Seconds a driver process may overrun its planned time before it is killed. */
export const DRIVER_GRACE_SEC = 60;

/** Install commands for the binaries the drivers use, per platform. */
export function installHint(
  pkg: 'sysbench' | 'mysql-client',
  platform: NodeJS.Platform = process.platform,
): string {
  if (platform === 'darwin')
    return pkg === 'sysbench' ? 'brew install sysbench' : 'brew install mysql-client';
  return pkg === 'sysbench' ? 'sudo apt-get install -y sysbench' : 'sudo apt-get install -y mariadb-client';
}

/**
 * Finds the first of `names` on PATH and runs it with `--version`. A missing binary or a failing
 * `--version` is reported as unavailable, with the install command.
 */
export async function detectBinary(
  exec: Exec,
  names: readonly string[],
  hint: string,
  parseVersion: (output: string) => string | null,
  find: (name: string) => string | undefined = which,
): Promise<DriverDetection> {
  const binary = names.map((n) => find(n)).find((b): b is string => b !== undefined);
  if (!binary) {
    return {
      available: false,
      reason: `${names.join(' / ')} not found on PATH`,
      installHint: hint,
    };
  }
  let result: ExecResult;
  try {
    result = await exec(binary, ['--version'], { timeoutMs: 15_000, env: driverEnvironment(process.env) });
  } catch (error) {
    return {
      available: false,
      reason: `${binary} --version could not run: ${String(error)}`,
      installHint: hint,
    };
  }
  const output = `${result.stdout}\n${result.stderr}`;
  const version = result.exitCode === 0 ? parseVersion(output) : null;
  if (version === null) {
    return {
      available: false,
      reason: `${binary} --version exited with ${result.exitCode ?? result.signal} and printed no version: ${tailLines(output, 3)}`,
      installHint: hint,
    };
  }
  return { available: true, binary, version };
}

/** Caches `detect` per exec function: one `--version` call per run of the gate. */
export function cachedDetection(detect: Detect): Detect {
  const detections = new WeakMap<Exec, Promise<DriverDetection>>();
  return (exec) => {
    let cached = detections.get(exec);
    if (!cached) {
      cached = detect(exec);
      detections.set(exec, cached);
    }
    return cached;
  };
}

/** The detected binary; throws, with the install command, when `program` is not available. */
export async function requireBinary(
  program: string,
  detection: Promise<DriverDetection>,
): Promise<{ binary: string; version: string }> {
  const detected = await detection;
  if (!detected.available) {
    throw new InfrastructureError(
      `${program} is not available (${detected.reason}). Install it: ${detected.installHint}`,
    );
  }
  return detected;
}

/**
 * A driver process's output (passwords removed) and its parsed report. A failed process throws:
 * with the parser's error when the output explains the failure (a FATAL line says more than an
 * exit code), else with the exit status.
 */
export function parsedOutput<R>(
  what: string,
  result: ExecResult,
  ctx: DriverContext,
  parse: (output: string) => R,
): { report: R; output: string } {
  const secrets = [ctx.target.password];
  const output = redact(stdoutThenStderr(result), secrets);
  if (result.exitCode !== 0 || result.timedOut || result.aborted) {
    if (!result.timedOut && !result.aborted) parse(output); // throws, naming the driver's error
    assertExitedCleanly(what, result, ctx, secrets);
  }
  return { report: parse(output), output };
}

/** Throws a named InfrastructureError when a driver process did not exit cleanly. */
export function assertExitedCleanly(
  what: string,
  result: ExecResult,
  ctx: DriverContext,
  secrets: string[],
): void {
  if (result.aborted || ctx.signal?.aborted) {
    throw new InfrastructureError(
      `${what} was aborted. Last lines of its output:\n${outputTail(result, secrets)}`,
    );
  }
  if (result.timedOut) {
    throw new InfrastructureError(
      `${what} did not finish in time and was killed (target ${formatMysqlUrl(ctx.target)}). ` +
        `Last lines of its output:\n${outputTail(result, secrets)}`,
    );
  }
  if (result.exitCode !== 0) {
    throw new InfrastructureError(
      `${what} failed (exit ${result.exitCode ?? result.signal}, target ${formatMysqlUrl(ctx.target)}). ` +
        `Last lines of its output:\n${outputTail(result, secrets)}`,
    );
  }
}

export function outputTail(result: ExecResult, secrets: string[], lines = 25): string {
  const text = stdoutThenStderr(result);
  return text.trim() === '' ? '(no output)' : redact(tailLines(text, lines), secrets);
}

/** Runs SQL statements one by one through a short-lived connection (prepare/cleanup: the direct one). */
export async function runStatements(
  target: DriverContext['target'],
  statements: readonly string[],
  what: string,
): Promise<void> {
  if (statements.length === 0) return;
  const conn = await openConnection(target, what);
  try {
    for (const [i, sql] of statements.entries()) {
      try {
        await conn.query(sql);
      } catch (error) {
        throw new InfrastructureError(
          `${what}: statement ${i + 1} failed (${redact(errorMessage(error), [target.password])}): ${sql}`,
          { cause: error },
        );
      }
    }
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/**
 * A connection to `target`; a failure to connect is an InfrastructureError naming `what` and the
 * target (password removed). With `tls`, the server's certificate is not verified.
 */
export async function openConnection(
  target: DriverContext['target'],
  what: string,
  { tls = false }: { tls?: boolean } = {},
): Promise<mysql.Connection> {
  try {
    return await mysql.createConnection({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
      connectTimeout: 15_000,
      ...(tls ? { ssl: { rejectUnauthorized: false } } : {}),
    });
  } catch (error) {
    throw new InfrastructureError(
      `${what}: cannot connect to ${formatMysqlUrl(target)}: ${redact(errorMessage(error), [target.password])}`,
      { cause: error },
    );
  }
}

const stdoutThenStderr = (result: ExecResult): string =>
  `${result.stdout}${result.stderr ? `\n${result.stderr}` : ''}`;
