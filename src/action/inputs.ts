import { z } from 'zod';
import { MEASURES, type Measure } from '../model/channel.ts';
import { PassThroughNamesSchema } from '../util/childEnvironment.ts';
import { UsageError } from '../util/errors.ts';
import { ShardSpecSchema, type Shard } from '../gate/shard.ts';
import { MYSQL_READY_TIMEOUT_SEC } from '../mysql/waitForServer.ts';
import { ThresholdListSchema, type SuiteOverrides, type SuiteRequest } from '../suite/overrides.ts';

/**
 * The Action's inputs, read once into a validated config. Every input declared in action.yml is
 * read here and nowhere else (a test checks both directions and that the defaults agree).
 */

export const MODES = ['compare', 'update-baseline', 'comment', 'history', 'merge', 'calibrate'] as const;
export type Mode = (typeof MODES)[number];
export const COMMENT_POLICIES = ['always', 'on-change', 'never'] as const;
export type CommentPolicy = (typeof COMMENT_POLICIES)[number];

export interface ActionConfig {
  mysql: { host: string; port: number; user: string; password: string; database: string };
  mysqlReadyTimeoutSec: number;
  proxy: {
    build: string | null;
    start: string | null;
    port: number;
    metricsUrl: string | null;
    /** Environment variables passed to proxy-build and proxy-start beyond the allow-list. */
    passEnv: string[];
  };
  workingDirectory: string;
  /** suite-file when given, else suite; with the threshold, rounds and duration overrides. */
  suite: SuiteRequest;
  /** Path as given (relative to working-directory); null: baselines/<suite>.json when it exists. */
  baseline: string | null;
  baseRef: string | null;
  mode: Mode;
  budgetMinutes: number | null;
  measure: Measure;
  failOnRegression: boolean;
  failOnInconclusive: boolean;
  commentOnPr: CommentPolicy;
  githubToken: string;
  resultsDir: string;
  /** mode history: the data branch holding the store, and the points kept per suite. */
  history: { branch: string; retention: number };
  /** This job's shard of the suite (mode compare), null for the whole suite. */
  shard: Shard | null;
  /** mode history: where a new change point is posted (a secret, never logged); null: nowhere. */
  webhookUrl: string | null;
}

/** What the inputs reader needs from @actions/core (getInput returns '' for an unset input). */
export interface InputSource {
  getInput(name: string): string;
  setSecret(secret: string): void;
}

interface InputSpec<T> {
  /** The default action.yml declares; an empty input means this value. */
  default: string;
  /** What a valid value looks like, for the error message. */
  expected: string;
  schema: z.ZodType<T, string>;
  secret?: boolean;
  /** The schema's own messages name the bad part of the value (quoted): show them, not `expected`. */
  detailed?: boolean;
}

function spec<T>(
  defaultValue: string,
  expected: string,
  schema: z.ZodType<T, string>,
  flags: { secret?: boolean; detailed?: boolean } = {},
): InputSpec<T> {
  return { default: defaultValue, expected, schema, ...flags };
}

const text = z.string();
const nonEmpty = z.string().min(1);
const optionalText = z.string().transform((s) => (s === '' ? null : s));
const integer = (min: number, max: number) =>
  z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));
const positiveNumber = z
  .string()
  .regex(/^\d+(\.\d+)?$/)
  .transform(Number)
  .pipe(z.number().positive());
/** An optional value: the empty input is null. */
const orEmpty = <T>(schema: z.ZodType<T, string>) => z.union([z.literal('').transform(() => null), schema]);
// The same spellings core.getBooleanInput accepts (YAML 1.2 core schema booleans).
const boolean = z
  .enum(['true', 'True', 'TRUE', 'false', 'False', 'FALSE'])
  .transform((s) => s.toLowerCase() === 'true');
const httpUrl = z
  .string()
  .transform((s) => (s === '' ? null : s))
  .refine((s) => s === null || /^https?:\/\/[^\s]+$/.test(s));

/** An https URL, or http to a loopback address only: the message must not cross a network in clear. */
export const webhookUrl = z.string().transform((s, ctx) => {
  if (s === '') return null;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a URL' });
    return z.NEVER;
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    ctx.addIssue({ code: 'custom', message: 'not https' });
    return z.NEVER;
  }
  return s;
});

/** Declared in action.yml with exactly these names and defaults. */
export const INPUT_SPECS = {
  'mysql-host': spec('127.0.0.1', 'a host name or IP address', nonEmpty),
  'mysql-port': spec('3306', 'an integer 1-65535', integer(1, 65535)),
  'mysql-user': spec('root', 'a user name', nonEmpty),
  'mysql-password': spec('', 'a password', text, { secret: true }),
  'mysql-database': spec('test', 'a database name', nonEmpty),
  'mysql-ready-timeout': spec(
    String(MYSQL_READY_TIMEOUT_SEC),
    'a whole number of seconds 1-3600',
    integer(1, 3600),
  ),
  'proxy-build': spec('', 'a shell command', optionalText),
  'proxy-start': spec('', 'a shell command', optionalText),
  'proxy-port': spec('3307', 'an integer 1-65535', integer(1, 65535)),
  'proxy-metrics-url': spec('', 'an http(s) URL such as http://127.0.0.1:4307/metrics', httpUrl),
  'proxy-env': spec(
    '',
    'comma-separated environment variable names such as CARGO_HOME,RUSTFLAGS (never INPUT_*, ACTIONS_* or GITHUB_TOKEN)',
    PassThroughNamesSchema,
  ),
  'working-directory': spec('.', 'a directory', nonEmpty),
  suite: spec('default', 'a suite name (default, quick, proxy-comparison) or a suite file', nonEmpty),
  'suite-file': spec(
    '',
    'a .json, .yaml or .yml suite file path',
    orEmpty(z.string().regex(/\.(json|ya?ml)$/i)),
  ),
  threshold: spec('', 'comma-separated METRIC=N% such as tps=5%,p95=10%', ThresholdListSchema, {
    detailed: true,
  }),
  rounds: spec('', 'a whole number of rounds 1-200', orEmpty(integer(1, 200))),
  duration: spec('', 'a positive number of seconds', orEmpty(positiveNumber)),
  baseline: spec('', 'a baseline file path', optionalText),
  'base-ref': spec('', 'a git ref', optionalText),
  mode: spec('compare', `one of ${MODES.join(', ')}`, z.enum(MODES)),
  'budget-minutes': spec('', 'a positive number of minutes', orEmpty(positiveNumber)),
  measure: spec('both', `one of ${MEASURES.join(', ')}`, z.enum(MEASURES)),
  'fail-on-regression': spec('true', 'true or false', boolean),
  'fail-on-inconclusive': spec('false', 'true or false', boolean),
  'comment-on-pr': spec('on-change', `one of ${COMMENT_POLICIES.join(', ')}`, z.enum(COMMENT_POLICIES)),
  'github-token': spec('${{ github.token }}', 'a GitHub token', text, { secret: true }),
  'results-dir': spec('.athena-bench/results', 'a directory', nonEmpty),
  'history-branch': spec(
    'athena-bench-data',
    'a branch name such as athena-bench-data',
    z
      .string()
      .regex(/^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+$/)
      .refine((b) => !b.endsWith('/') && !b.endsWith('.lock')),
  ),
  'history-retention': spec('1000', 'a whole number of points 1-1000000', integer(1, 1_000_000)),
  shard: spec('', 'i/n, e.g. 2/4 (shard i of n, 1 <= i <= n <= 64)', orEmpty(ShardSpecSchema)),
  'webhook-url': spec('', 'an https:// URL (http:// only to 127.0.0.1, [::1] or localhost)', webhookUrl, {
    secret: true,
  }),
} as const;

export type InputName = keyof typeof INPUT_SPECS;
type InputValue<N extends InputName> = (typeof INPUT_SPECS)[N] extends InputSpec<infer T> ? T : never;

type Read = <N extends InputName>(name: N) => InputValue<N>;

/**
 * Reads and validates every input. Secrets are registered with setSecret before anything else is
 * read, so no later log line or error can print them. Errors name the input and what was expected.
 */
export function readActionConfig(source: InputSource): ActionConfig {
  const read = reader(readRawInputs(source));
  const githubToken = read('github-token');
  return {
    mysql: {
      host: read('mysql-host'),
      port: read('mysql-port'),
      user: read('mysql-user'),
      password: read('mysql-password'),
      database: read('mysql-database'),
    },
    mysqlReadyTimeoutSec: read('mysql-ready-timeout'),
    proxy: {
      build: read('proxy-build'),
      start: read('proxy-start'),
      port: read('proxy-port'),
      metricsUrl: read('proxy-metrics-url'),
      passEnv: read('proxy-env'),
    },
    workingDirectory: read('working-directory'),
    suite: readSuiteRequest(read),
    baseline: read('baseline'),
    baseRef: read('base-ref'),
    ...readModeAndShard(read),
    budgetMinutes: read('budget-minutes'),
    measure: read('measure'),
    failOnRegression: read('fail-on-regression'),
    failOnInconclusive: read('fail-on-inconclusive'),
    commentOnPr: read('comment-on-pr'),
    // An unexpanded expression means the workflow ran the code outside a runner: no token.
    githubToken: githubToken.startsWith('${{') ? '' : githubToken,
    resultsDir: read('results-dir'),
    history: { branch: read('history-branch'), retention: read('history-retention') },
    webhookUrl: read('webhook-url'),
  };
}

/** Every declared input's raw value, secrets fetched (and masked) first. */
function readRawInputs(source: InputSource): Map<InputName, string> {
  const raw = new Map<InputName, string>();
  const names = Object.keys(INPUT_SPECS) as InputName[];
  const secretsFirst = [
    ...names.filter((n) => INPUT_SPECS[n].secret),
    ...names.filter((n) => !INPUT_SPECS[n].secret),
  ];
  for (const name of secretsFirst) {
    const value = source.getInput(name);
    if (INPUT_SPECS[name].secret && value !== '') source.setSecret(value);
    raw.set(name, value);
  }
  return raw;
}

/** Validates one raw input against its spec; the error names the input and what was expected. */
function reader(raw: Map<InputName, string>): Read {
  return <N extends InputName>(name: N): InputValue<N> => {
    const inputSpec: InputSpec<unknown> = INPUT_SPECS[name];
    const given = raw.get(name) ?? '';
    // The runner always passes the declared default; an empty value (e.g. from an unset matrix
    // variable) means the same default rather than an invalid input. Secrets may be empty.
    const value = given === '' && !inputSpec.secret ? inputSpec.default : given;
    const parsed = inputSpec.schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      if (inputSpec.detailed && issue?.code === 'custom') {
        throw new UsageError(`input ${name}: ${issue.message}`);
      }
      const shown = inputSpec.secret ? '(hidden)' : `'${value}'`;
      throw new UsageError(`input ${name}: expected ${inputSpec.expected}, got ${shown}`);
    }
    return parsed.data as InputValue<N>;
  };
}

/**
 * suite-file or suite (one of them: suite left at its default when suite-file is set), and the
 * overrides every mode applies to it.
 */
function readSuiteRequest(read: Read): SuiteRequest {
  const suite = read('suite');
  const file = read('suite-file');
  if (file !== null && suite !== INPUT_SPECS.suite.default) {
    throw new UsageError(
      `input suite-file: set either suite or suite-file, not both (suite is '${suite}', suite-file '${file}')`,
    );
  }
  const rounds = read('rounds');
  const durationSec = read('duration');
  const overrides: SuiteOverrides = {
    thresholds: read('threshold'),
    ...(rounds !== null ? { rounds } : {}),
    ...(durationSec !== null ? { durationSec } : {}),
  };
  return { source: file ?? suite, overrides };
}

function readModeAndShard(read: Read): { mode: Mode; shard: Shard | null } {
  const mode = read('mode');
  const shard = read('shard');
  if (shard && mode !== 'compare') {
    throw new UsageError(`input shard: only with mode compare (a shard job), not mode ${mode}`);
  }
  return { mode, shard };
}
