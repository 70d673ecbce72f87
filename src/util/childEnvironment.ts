import { z } from 'zod';

/**
 * The environment of the processes the gate starts for code it does not trust with its own: a
 * proxy arm's build and start commands (src/engine/armSetup.ts) and the drivers
 * (src/drivers/sandbox.ts). A proxy arm is the code under test — on a pull request, code its
 * author wrote — so it gets an allow-list, not the gate's own environment: in the Action that holds the inputs (INPUT_GITHUB-TOKEN, INPUT_MYSQL-PASSWORD), the
 * runner's ACTIONS_RUNTIME_TOKEN and often GITHUB_TOKEN, and the proxy's logs become an artifact.
 *
 * What passes: what a build tool needs to find itself and its caches (PATH, HOME, user, shell,
 * locale, time zone, temp directory), the names the user lists (Action input proxy-env, CLI
 * --proxy-env), then everything the gate sets for the arm (ATHENA_BENCH_*, Athena's ATHENA_*).
 */

const BASELINE_NAMES = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
]);
const LOCALE_NAME = /^LC_[A-Z]+$/;

/** The runner's credentials and the Action's inputs: never passed, even when listed. */
const NEVER_PASSED = /^(INPUT_|ACTIONS_)|^GITHUB_TOKEN$/i;

/** `NAME1,NAME2`: environment variable names to pass through, each a shell-style name. */
export const PassThroughNamesSchema = z
  .string()
  .transform((list) =>
    list
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
  )
  .pipe(
    z.array(
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected environment variable names such as CARGO_HOME')
        .refine((name) => !NEVER_PASSED.test(name), {
          message: 'never passed: INPUT_*, ACTIONS_* and GITHUB_TOKEN hold the inputs and the credentials',
        }),
    ),
  );

/** The allow-listed part of `ambient`, the names in `passThrough`, then what the gate sets. */
export function allowedEnvironment(
  ambient: NodeJS.ProcessEnv,
  passThrough: readonly string[],
  gateSet: Record<string, string>,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const listed = new Set(passThrough);
  for (const [name, value] of Object.entries(ambient)) {
    if (value === undefined || NEVER_PASSED.test(name)) continue;
    if (BASELINE_NAMES.has(name) || LOCALE_NAME.test(name) || listed.has(name)) env[name] = value;
  }
  return { ...env, ...gateSet };
}
