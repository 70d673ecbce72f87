import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AthenaBenchError, UsageError, errorMessage, exitCodeOf, type ExitCode } from '../util/errors.ts';

/** What every subcommand may use of the process it runs in. */
export interface CommandIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

type FlagOptions = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/** Parses argv into known flags (and -h/--help); unknown flags and stray arguments are usage errors. */
export function parse<T extends FlagOptions>(command: string, argv: string[], options: T) {
  return parseCommandLine(command, argv, options, false).values;
}

/** parse() that also returns the positional arguments when `allowPositionals`. */
export function parseCommandLine<T extends FlagOptions>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals: boolean,
) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals,
    });
  } catch (error) {
    throw new UsageError(
      `athena-bench ${command}: ${errorMessage(error)} (see athena-bench ${command} --help)`,
    );
  }
}

/**
 * The flags checked against their schema; the first problem is a UsageError naming the flag
 * (a camelCase key as its --kebab-case flag, or as `names` calls it, e.g. positionals).
 */
export function validate<S extends z.ZodType>(
  command: string,
  schema: S,
  values: unknown,
  names: Record<string, string> = {},
): z.infer<S> {
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.length ? String(issue.path[0]) : null;
    const flag =
      key === null ? 'flags' : (names[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    throw new UsageError(
      `athena-bench ${command}: ${flag}: ${issue.message} (see athena-bench ${command} --help)`,
    );
  }
  return parsed.data;
}

export const requiredPath = (what: string) =>
  z.string({ error: `required: ${what}` }).min(1, `required: ${what}`);

/** Maps an error to its exit code with one line on stderr naming the command. */
export function reportFailure(command: string, error: unknown, stderr: (s: string) => void): ExitCode {
  const prefix = `athena-bench ${command}: `;
  if (error instanceof AthenaBenchError) {
    // Flag errors already name the command.
    stderr(`${error.message.startsWith(prefix) ? '' : prefix}${error.message}\n`);
  } else {
    stderr(`${prefix}unexpected failure: ${errorMessage(error)}\n`);
  }
  return exitCodeOf(error);
}

/** Runs a command body; an error becomes its exit code with one line on stderr. */
export async function guarded(command: string, io: CommandIO, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    return reportFailure(command, error, io.stderr);
  }
}
