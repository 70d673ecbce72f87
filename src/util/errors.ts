/**
 * Errors that carry the process exit code the CLI and the Action report; the one map of exit codes
 * (a verdict's is exitCodeFor in src/model/verdict.ts).
 * Exit codes (documented in the README):
 *   0 pass (or improved / inconclusive unless asked to fail on it)
 *   1 regression
 *   2 usage or configuration error (bad flag, bad input file)
 *   3 infrastructure failure (MySQL, proxy, driver)
 */
export const ExitCode = {
  Pass: 0,
  Regression: 1,
  Usage: 2,
  Infrastructure: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class AthenaBenchError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad flag, input, suite, baseline or results file: the user must change something. */
export class UsageError extends AthenaBenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.Usage, options);
  }
}

/** Something the run depends on broke: MySQL, the proxy, a driver binary. */
export class InfrastructureError extends AthenaBenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.Infrastructure, options);
  }
}

/** The exit code of a failure: an AthenaBenchError's own, anything else an infrastructure failure. */
export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof AthenaBenchError ? error.exitCode : ExitCode.Infrastructure;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
