import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { UsageError, errorMessage } from '../util/errors.ts';
import type { CommentOutcome } from './comment.ts';
import type { ActionDeps, Verdict } from './deps.ts';
import type { ActionConfig } from './inputs.ts';
import type { Suite } from '../suite/schema.ts';

/** What a run decided; index.ts only needs it for tests and logs (the step status is set here). */
export interface ActionResult {
  verdict: Verdict | null;
  failed: boolean;
  outputs: Record<string, string>;
  comment: CommentOutcome | null;
}

/** One run of the Action, as every mode sees it: the deps, the inputs, the directories, the outcome. */
export interface Session {
  deps: ActionDeps;
  config: ActionConfig;
  /** working-directory, resolved. */
  workdir: string;
  /** results-dir, resolved. */
  resultsDir: string;
  result: ActionResult;
  setOutput(name: string, value: string): void;
  /** Fails the step with a message (the run goes on: the summary and comment are still written). */
  fail(message: string): void;
}

/** A failure of one part of the run, with what to check; becomes the step's failure message. */
export class StepFailure extends Error {
  constructor(part: string, cause: unknown, check: string) {
    const detail = errorMessage(cause);
    super(`${part} failed: ${detail}${check ? `\nCheck: ${check}` : ''}`, { cause });
    this.name = 'StepFailure';
  }
}

export async function step<T>(part: string, check: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof StepFailure) throw error;
    // A usage error already says which input or file is wrong and what was expected.
    if (error instanceof UsageError) throw new StepFailure(`${part} (configuration)`, error, '');
    throw new StepFailure(part, error, check);
  }
}

export const CHECK_MYSQL =
  'the `services: mysql` block of the workflow (image, `ports: [3306:3306]`, a health check) and the ' +
  'mysql-host, mysql-port, mysql-user, mysql-password and mysql-database inputs.';
export const CHECK_BENCH =
  'the proxy (proxy-build, proxy-start, proxy-port, proxy-metrics-url: the log above has its last ' +
  'lines) and the benchmark drivers (`sudo apt-get install -y sysbench` on the runner).';
export const CHECK_GIT =
  'base-ref needs the history: `actions/checkout` with `fetch-depth: 0`, and a ref that exists ' +
  '(e.g. origin/main).';

/** A suite loaded and MySQL ready: what every measuring mode starts from. */
export interface Prepared {
  suite: Suite;
  mysqlVersion: string;
}

export async function prepareRun({ deps, config, workdir, resultsDir }: Session): Promise<Prepared> {
  const { core } = deps;
  if (!existsSync(workdir)) {
    throw new StepFailure(
      'working-directory',
      new Error(`${workdir} does not exist`),
      'the working-directory input.',
    );
  }
  const suite = await step('loading the suite', '', () => deps.bench.loadSuite(config.suite, workdir));
  await mkdir(resultsDir, { recursive: true });
  const { host, port } = config.mysql;
  core.info(`Waiting up to ${config.mysqlReadyTimeoutSec} s for MySQL at ${host}:${port}…`);
  const server = await step(`MySQL at ${host}:${port}`, CHECK_MYSQL, () =>
    deps.waitForMysql(config.mysql, config.mysqlReadyTimeoutSec * 1000),
  );
  core.info(`MySQL ${server.version} is ready.`);
  return { suite, mysqlVersion: server.version };
}

/** What every benchmark of the Action is given, from its inputs. */
export function benchRequestBase({ config, workdir, resultsDir }: Session, suite: Suite) {
  return {
    mysql: config.mysql,
    suite,
    proxy: { ...config.proxy, cwd: workdir },
    budgetMinutes: config.budgetMinutes,
    measure: config.measure,
    outDir: resultsDir,
  };
}
