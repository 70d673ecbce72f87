import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { AthenaBenchError, UsageError, errorMessage } from '../errors.ts';
import type { Suite } from '../suite/schema.ts';
import {
  COMMENT_ARTIFACT_FILE,
  CommentArtifactSchema,
  readCommentArtifact,
  writeCommentArtifact,
  type CommentArtifact,
} from './artifact.ts';
import { upsertStickyComment, type CommentOutcome } from './comment.ts';
import { VERDICT_MARK } from '../verdict/markdown.ts';
import type { ActionDeps, BenchOutcome, ComparisonPlan, ComparisonView, Verdict } from './deps.ts';
import { recordHistory } from './history-mode.ts';
import { comparisonTrend, joinWithTrend } from './history-trend.ts';
import { readActionConfig, type ActionConfig } from './inputs.ts';
import { renderTrustedComment, trustedSummaryLine } from './trustedComment.ts';
import { mergeShardArtifacts } from './merge.ts';

/** What a run decided; index.ts only needs it for tests and logs (the step status is set here). */
export interface ActionResult {
  verdict: Verdict | null;
  failed: boolean;
  outputs: Record<string, string>;
  comment: CommentOutcome | null;
}

/** A failure of one part of the run, with what to check; becomes the step's failure message. */
export class StepFailure extends Error {
  constructor(part: string, cause: unknown, check: string) {
    const detail = errorMessage(cause);
    super(`${part} failed: ${detail}${check ? `\nCheck: ${check}` : ''}`, { cause });
    this.name = 'StepFailure';
  }
}

async function step<T>(part: string, check: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof StepFailure) throw error;
    // A usage error already says which input or file is wrong and what was expected.
    if (error instanceof UsageError) throw new StepFailure(`${part} (configuration)`, error, '');
    throw new StepFailure(part, error, check);
  }
}

const CHECK_MYSQL =
  'the `services: mysql` block of the workflow (image, `ports: [3306:3306]`, a health check) and the ' +
  'mysql-host, mysql-port, mysql-user, mysql-password and mysql-database inputs.';
const CHECK_BENCH =
  'the proxy (proxy-build, proxy-start, proxy-port, proxy-metrics-url: the log above has its last ' +
  'lines) and the benchmark drivers (`sudo apt-get install -y sysbench` on the runner).';
const CHECK_GIT =
  'base-ref needs the history: `actions/checkout` with `fetch-depth: 0`, and a ref that exists ' +
  '(e.g. origin/main).';

export async function run(deps: ActionDeps): Promise<ActionResult> {
  const { core } = deps;
  const result: ActionResult = { verdict: null, failed: false, outputs: {}, comment: null };
  const setOutput = (name: string, value: string) => {
    result.outputs[name] = value;
    core.setOutput(name, value);
  };
  const fail = (message: string) => {
    result.failed = true;
    core.setFailed(message);
  };

  let config: ActionConfig;
  try {
    config = readActionConfig(core);
  } catch (error) {
    fail(errorMessage(error));
    return result;
  }
  const workdir = path.resolve(deps.workspace, config.workingDirectory);
  const resultsDir = path.resolve(workdir, config.resultsDir);

  try {
    switch (config.mode) {
      case 'comment':
        await postCommentFromArtifact(deps, config, resultsDir, result, setOutput);
        return result;
      case 'update-baseline':
        await updateBaseline(deps, config, workdir, resultsDir, setOutput);
        return result;
      case 'compare':
        await compare(deps, config, workdir, resultsDir, result, setOutput, fail);
        return result;
      case 'history':
        await recordHistory(
          deps,
          config,
          workdir,
          {
            prepare: () => prepareRun(deps, config, workdir, resultsDir),
            bench: (suite) =>
              step('the benchmark', CHECK_BENCH, () =>
                deps.bench.run({
                  ...benchRequestBase(config, workdir, resultsDir, suite),
                  base: null,
                  plan: { kind: 'none' },
                }),
              ),
            step,
          },
          setOutput,
        );
        return result;
      case 'merge':
        await mergeShardArtifacts(deps, config, workdir, resultsDir, result, setOutput, fail);
        return result;
    }
  } catch (error) {
    const message =
      error instanceof StepFailure || error instanceof AthenaBenchError
        ? error.message
        : `athena-bench failed unexpectedly: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    await core
      .writeSummary(`## athena-bench: the run failed\n\n\`\`\`\n${message}\n\`\`\`\n`)
      .catch((summaryError: unknown) =>
        core.warning(`Could not write the job summary: ${errorMessage(summaryError)}`),
      );
    fail(message);
  }
  return result;
}

async function prepareRun(
  deps: ActionDeps,
  config: ActionConfig,
  workdir: string,
  resultsDir: string,
): Promise<Suite> {
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
  return suite;
}

function benchRequestBase(config: ActionConfig, workdir: string, resultsDir: string, suite: Suite) {
  return {
    mysql: config.mysql,
    suite,
    proxy: { ...config.proxy, cwd: workdir },
    budgetMinutes: config.budgetMinutes,
    measure: config.measure,
    outDir: resultsDir,
  };
}

async function updateBaseline(
  deps: ActionDeps,
  config: ActionConfig,
  workdir: string,
  resultsDir: string,
  setOutput: (name: string, value: string) => void,
): Promise<void> {
  const suite = await prepareRun(deps, config, workdir, resultsDir);
  const target = path.resolve(workdir, config.baseline ?? path.join('baselines', `${suite.name}.json`));
  const outcome = await step('the benchmark', CHECK_BENCH, () =>
    deps.bench.run({
      ...benchRequestBase(config, workdir, resultsDir, suite),
      base: null,
      plan: { kind: 'none' },
    }),
  );
  setOutput('results-path', outcome.resultsPath);
  setOutput('report-path', outcome.reportPath);
  await mkdir(path.dirname(target), { recursive: true });
  await step('writing the baseline', `that ${target} is writable.`, () =>
    deps.verdicts.writeBaseline(outcome.results, target, {
      commit: deps.github.sha || undefined,
      date: deps.now().toISOString(),
    }),
  );
  const summaryLine = `Baseline for suite ${suite.name} written to ${path.relative(workdir, target) || target}.`;
  setOutput('summary', summaryLine);
  deps.core.info(summaryLine);
  await deps.core.writeSummary(
    `## athena-bench: baseline updated\n\n${summaryLine}\n\n${outcome.reportMarkdown}\n`,
  );
}

/** A reference the Action judges against: a baseline, or a base commit it has resolved. */
type JudgedReference =
  | Extract<ComparisonPlan, { kind: 'baseline' }>
  | (Extract<ComparisonPlan, { kind: 'base-ref' }> & { commit: string });

/** Committed baseline, explicit base-ref, or (on a pull request without a baseline) its merge-base. */
async function planComparison(
  deps: ActionDeps,
  config: ActionConfig,
  workdir: string,
  suite: Suite,
): Promise<JudgedReference> {
  const abAgainst = async (ref: string, describeRef: string) => {
    const commit = await step(`resolving base-ref ${describeRef}`, CHECK_GIT, async () => {
      const root = await deps.git.repoRoot(workdir);
      return deps.git.resolveCommit(root, ref);
    });
    return { kind: 'base-ref' as const, ref: describeRef, commit, headArm: 'proxy', baseArm: 'base' };
  };
  if (config.baseRef) return abAgainst(config.baseRef, config.baseRef);

  const baselinePath = path.resolve(workdir, config.baseline ?? path.join('baselines', `${suite.name}.json`));
  if (existsSync(baselinePath)) {
    const baseline = await step(`loading the baseline ${baselinePath}`, '', () =>
      deps.verdicts.loadBaseline(baselinePath),
    );
    return { kind: 'baseline', file: baselinePath, baseline };
  }
  if (config.baseline) {
    throw new UsageError(
      `input baseline: ${baselinePath} does not exist. Give a path relative to working-directory, ` +
        'or create the file with `mode: update-baseline`.',
    );
  }
  const pr = deps.github.pullRequest;
  if (pr) {
    const commit = await step('finding the merge-base with the pull request base', CHECK_GIT, async () => {
      const root = await deps.git.repoRoot(workdir);
      return deps.git.mergeBase(root, pr.baseSha, 'HEAD');
    });
    deps.core.info(
      `No baseline at ${baselinePath}: comparing against the merge-base ${commit.slice(0, 12)} (A/B).`,
    );
    return {
      kind: 'base-ref',
      ref: `merge-base ${commit.slice(0, 12)}`,
      commit,
      headArm: 'proxy',
      baseArm: 'base',
    };
  }
  throw new StepFailure(
    'choosing what to compare against',
    new Error(`no baseline at ${baselinePath} and base-ref is empty`),
    'commit a baseline (`mode: update-baseline`), set the baseline input, or set base-ref for an A/B comparison.',
  );
}

async function compare(
  deps: ActionDeps,
  config: ActionConfig,
  workdir: string,
  resultsDir: string,
  result: ActionResult,
  setOutput: (name: string, value: string) => void,
  fail: (message: string) => void,
): Promise<void> {
  const { core } = deps;
  const suite = await prepareRun(deps, config, workdir, resultsDir);
  const plan = await planComparison(deps, config, workdir, suite);

  let outcome: BenchOutcome;
  let worktree: { root: string; dir: string } | null = null;
  try {
    let base = null;
    if (plan.kind === 'base-ref') {
      const root = await deps.git.repoRoot(workdir);
      const dir = path.join(await deps.tempDir(), 'base');
      await step(`checking out ${plan.ref} in a worktree`, CHECK_GIT, () =>
        deps.git.addWorktree(root, plan.commit, dir),
      );
      worktree = { root, dir };
      base = { cwd: path.join(dir, path.relative(root, workdir)), commit: plan.commit, arm: plan.baseArm };
      core.info(`Base-vs-head A/B: base ${plan.ref} (${plan.commit.slice(0, 12)}) built in ${dir}.`);
    }
    outcome = await step('the benchmark', CHECK_BENCH, () =>
      deps.bench.run({
        ...benchRequestBase(config, workdir, resultsDir, suite),
        base,
        plan,
        shard: config.shard,
      }),
    );
  } finally {
    if (worktree) {
      const { root, dir } = worktree;
      await deps.git.removeWorktree(root, dir).catch((error: unknown) => {
        core.warning(`Could not remove the base worktree ${dir}: ${errorMessage(error)}`);
      });
      await rm(path.dirname(dir), { recursive: true, force: true });
    }
  }
  setOutput('results-path', outcome.resultsPath);
  setOutput('report-path', outcome.reportPath);

  const comparison = outcome.comparison;
  if (!comparison) {
    // The measurements are still worth showing.
    await core.writeSummary(`## athena-bench: ${suite.name}\n\n${outcome.reportMarkdown}\n`);
    throw new StepFailure('comparing the results', new Error('the benchmark returned no verdict'), '');
  }
  result.verdict = comparison.verdict;
  if (config.shard) {
    await reportShard(deps, config.shard, suite.name, comparison.summaryLine, outcome.reportMarkdown);
    return;
  }

  // The comparison markdown opens with the verdict and its one-line summary; this line says what
  // was compared (one sticky comment per suite, so the suite is named).
  const context =
    `Suite \`${suite.name}\` · ` +
    (plan.kind === 'baseline'
      ? `compared with the baseline \`${path.relative(workdir, plan.file) || plan.file}\``
      : `compared with ${plan.ref} (${plan.commit.slice(0, 12)}), built and run in the same job (A/B)`);
  const trend = await comparisonTrend(deps, config.history.branch, workdir, suite.name, outcome.results);
  await publishVerdict(deps, config, resultsDir, result, setOutput, fail, {
    suite: suite.name,
    comparedWith: plan.kind,
    context,
    comparison,
    reportMarkdown: outcome.reportMarkdown,
    trend,
  });
}

/** What a judged run shows: its verdict, the line saying what it was compared with, its report. */
export interface Judged {
  suite: string;
  comparedWith: 'baseline' | 'base-ref';
  context: string;
  comparison: ComparisonView;
  reportMarkdown: string;
  /** main's recent history of the gating metric with this run last (markdown), or ''. */
  trend: string;
}

/** The job summary, the outputs, the annotations, the comment artifact and comment, the step status. */
export async function publishVerdict(
  deps: ActionDeps,
  config: ActionConfig,
  resultsDir: string,
  result: ActionResult,
  setOutput: (name: string, value: string) => void,
  fail: (message: string) => void,
  { suite, comparedWith, context, comparison, reportMarkdown, trend }: Judged,
): Promise<void> {
  const { core } = deps;
  result.verdict = comparison.verdict;
  const summaryMarkdown = [
    joinWithTrend(comparison.markdown.trimEnd(), trend, context),
    '---',
    reportMarkdown,
  ].join('\n\n');
  await core.writeSummary(summaryMarkdown + '\n');

  setOutput('verdict', comparison.verdict);
  setOutput('regressed', String(comparison.verdict === 'regressed'));
  setOutput('summary', comparison.summaryLine);
  for (const warning of comparison.warnings) core.warning(warning);
  for (const regression of comparison.regressions) {
    core.error(regression.message, { title: `athena-bench: ${regression.workload} regressed` });
  }
  core.info(comparison.summaryLine);

  const footer = deps.github.runUrl ? ` · [full report in the job summary](${deps.github.runUrl})` : '';
  const commentBody = `${joinWithTrend(comparison.markdown.trimEnd(), trend, `${context}${footer}`)}\n`;
  const pr = deps.github.pullRequest;
  if (pr) {
    await leaveCommentArtifact(deps, resultsDir, {
      schemaVersion: 2,
      suite,
      pullRequest: pr.number,
      headSha: pr.headSha,
      verdict: comparison.verdict,
      comparedWith,
      workloads: comparison.workloads,
    });
    result.comment = await commentOnPullRequest(
      deps,
      config,
      pr.number,
      suite,
      commentBody,
      comparison.verdict,
    );
    setOutput('comment-url', result.comment.url ?? '');
  } else {
    setOutput('comment-url', '');
  }

  if (comparison.verdict === 'regressed' && config.failOnRegression) {
    fail(`Performance regression: ${comparison.summaryLine}`);
  } else if (comparison.verdict === 'inconclusive' && config.failOnInconclusive) {
    fail(`Inconclusive (fail-on-inconclusive is true): ${comparison.summaryLine}`);
  }
}

/**
 * One shard of a matrix: its verdict is judged with a part of the suite only, so it neither
 * comments nor fails the job; the merge job (mode merge) gives the verdict.
 */
async function reportShard(
  deps: ActionDeps,
  shard: NonNullable<ActionConfig['shard']>,
  suite: string,
  summaryLine: string,
  reportMarkdown: string,
): Promise<void> {
  const line = `Shard ${shard.index}/${shard.count} of suite \`${suite}\` measured; the verdict is the merge job's (this shard alone: ${summaryLine}).`;
  deps.core.info(line);
  await deps.core.writeSummary(
    `## athena-bench: shard ${shard.index}/${shard.count}\n\n${line}\n\n${reportMarkdown}\n`,
  );
}

/** The fork-safe artifact, checked against the schema its reader applies; a misfit is only warned about. */
async function leaveCommentArtifact(
  deps: ActionDeps,
  resultsDir: string,
  artifact: CommentArtifact,
): Promise<void> {
  const checked = CommentArtifactSchema.safeParse(artifact);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    deps.core.warning(
      `${COMMENT_ARTIFACT_FILE} not written (${issue?.path.join('.')}: ${issue?.message}): ` +
        'a workflow_run job could not post this comment.',
    );
    return;
  }
  await writeCommentArtifact(resultsDir, checked.data);
}

async function commentOnPullRequest(
  deps: ActionDeps,
  config: ActionConfig,
  pullNumber: number,
  suite: string,
  body: string,
  verdict: Verdict,
): Promise<CommentOutcome> {
  if (config.commentOnPr === 'never')
    return { action: 'skipped', url: null, reason: 'comment-on-pr is never' };
  if (!config.githubToken) {
    deps.core.warning(
      'No github-token: the pull-request comment is skipped (the verdict is in the job summary).',
    );
    return { action: 'skipped', url: null, reason: 'no token' };
  }
  const outcome = await upsertStickyComment({
    api: deps.githubApi(config.githubToken),
    issueNumber: pullNumber,
    suite,
    body,
    policy: config.commentOnPr,
    changed: worthAComment(verdict),
    log: deps.core,
    sleep: (ms) => deps.sleep(ms),
  });
  if (outcome.action === 'skipped') deps.core.info(`No pull-request comment: ${outcome.reason}.`);
  return outcome;
}

/** mode: comment — the fork-safe poster, run from workflow_run with the downloaded results-dir. */
async function postCommentFromArtifact(
  deps: ActionDeps,
  config: ActionConfig,
  resultsDir: string,
  result: ActionResult,
  setOutput: (name: string, value: string) => void,
): Promise<void> {
  // Only a workflow_run event says, from GitHub rather than from the artifact, which commit the
  // pull request's run tested; without it the artifact's claims cannot be checked.
  const run = deps.github.workflowRun;
  if (deps.github.eventName !== 'workflow_run' || !run) {
    throw new StepFailure(
      'mode comment',
      new Error(`it runs on workflow_run events only, and this is a ${deps.github.eventName} event`),
      'the recipe in the README ("Fork-safe PR comments"): `on: workflow_run` of the perf-gate workflow.',
    );
  }
  const artifact = await step('reading the results artifact', '', () => readCommentArtifact(resultsDir));
  if (!config.githubToken)
    throw new UsageError('input github-token: mode comment needs a token that can write');
  const api = deps.githubApi(config.githubToken);
  const refuse = (why: string) =>
    new StepFailure(
      'checking the results artifact',
      new Error(why),
      "that the comment workflow runs on workflow_run of the perf-gate workflow and downloads that run's artifact.",
    );
  // The artifact comes from an untrusted run: it must be about the commit that run tested, and
  // only comment on a pull request whose head that commit is.
  if (artifact.headSha !== run.headSha) {
    throw refuse(
      `it is for commit ${artifact.headSha.slice(0, 12)}, but the workflow run tested ${run.headSha.slice(0, 12)}`,
    );
  }
  if (!run.pullRequestNumbers.includes(artifact.pullRequest)) {
    const headSha = await step(`looking up pull request #${artifact.pullRequest}`, '', () =>
      api.pullRequestHeadSha(artifact.pullRequest),
    );
    if (headSha !== run.headSha) {
      throw refuse(
        `it names pull request #${artifact.pullRequest}, whose head ${headSha.slice(0, 12)} is not the ` +
          `commit the workflow run tested (${run.headSha.slice(0, 12)})`,
      );
    }
  }
  const summaryLine = trustedSummaryLine(artifact, 'plain');
  result.verdict = artifact.verdict;
  setOutput('verdict', artifact.verdict);
  setOutput('regressed', String(artifact.verdict === 'regressed'));
  setOutput('summary', summaryLine);
  result.comment = await upsertStickyComment({
    api,
    issueNumber: artifact.pullRequest,
    suite: artifact.suite,
    body: renderTrustedComment(artifact, run.htmlUrl),
    policy: config.commentOnPr,
    changed: worthAComment(artifact.verdict),
    log: deps.core,
    sleep: (ms) => deps.sleep(ms),
  });
  setOutput('comment-url', result.comment.url ?? '');
  await deps.core.writeSummary(
    `## athena-bench: pull request #${artifact.pullRequest} — ${VERDICT_MARK[artifact.verdict]}\n\n` +
      `${trustedSummaryLine(artifact, 'markdown')}\n\nComment: ${result.comment.url ?? result.comment.action}\n`,
  );
}

/**
 * Whether a verdict is worth a new comment under comment-on-pr: on-change: a change was shown
 * (regressed or improved). An inconclusive run says "can't tell", which belongs in the job summary,
 * not in a comment on every pull request; an earlier comment is still updated whatever the verdict.
 */
function worthAComment(verdict: Verdict): boolean {
  return verdict === 'regressed' || verdict === 'improved';
}
