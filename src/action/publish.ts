import {
  COMMENT_ARTIFACT_FILE,
  CommentArtifactSchema,
  writeCommentArtifact,
  type CommentArtifact,
} from './artifact.ts';
import { upsertStickyComment, type CommentOutcome } from './comment.ts';
import type { ActionDeps, ComparisonView, PullRequestInfo, Verdict } from './deps.ts';
import { joinWithTrend } from './history-trend.ts';
import type { ActionConfig } from './inputs.ts';
import type { Session } from './session.ts';

/** What a judged run shows: its verdict, the line saying what it was compared with, its report. */
export interface Judged {
  suite: string;
  comparedWith: 'baseline' | 'base-ref';
  context: string;
  comparison: ComparisonView;
  /** The report below the verdict: the measurements (the verdict is shown once, above it). */
  reportMarkdown: string;
  /** main's recent history of the gating metric with this run last (markdown), or ''. */
  trend: string;
}

/** The job summary, the outputs, the annotations, the comment artifact and comment, the step status. */
export async function publishVerdict(s: Session, judged: Judged): Promise<void> {
  const { comparison } = judged;
  s.result.verdict = comparison.verdict;
  await summarize(s, judged);
  const pr = s.deps.github.pullRequest;
  if (pr) await commentOnPullRequest(s, pr, judged);
  else s.setOutput('comment-url', '');
  if (comparison.verdict === 'regressed' && s.config.failOnRegression) {
    s.fail(`Performance regression: ${comparison.summaryLine}`);
  } else if (comparison.verdict === 'inconclusive' && s.config.failOnInconclusive) {
    s.fail(`Inconclusive (fail-on-inconclusive is true): ${comparison.summaryLine}`);
  }
}

/** The verdict, its context and trend, then the report, in the job summary; the outputs; the annotations. */
async function summarize({ deps, setOutput }: Session, judged: Judged): Promise<void> {
  const { core } = deps;
  const { comparison } = judged;
  const verdict = joinWithTrend(comparison.markdown.trimEnd(), judged.trend, judged.context);
  await core.writeSummary(`${[verdict, '---', judged.reportMarkdown].join('\n\n')}\n`);
  setOutput('verdict', comparison.verdict);
  setOutput('regressed', String(comparison.verdict === 'regressed'));
  setOutput('summary', comparison.summaryLine);
  for (const warning of comparison.warnings) core.warning(warning);
  for (const regression of comparison.regressions) {
    core.error(regression.message, { title: `athena-bench: ${regression.workload} regressed` });
  }
  core.info(comparison.summaryLine);
}

/** The fork-safe artifact, then the sticky comment (when the policy and the token allow). */
async function commentOnPullRequest(s: Session, pr: PullRequestInfo, judged: Judged): Promise<void> {
  const { deps, config } = s;
  const { comparison, suite } = judged;
  await leaveCommentArtifact(deps, s.resultsDir, {
    schemaVersion: 2,
    suite,
    pullRequest: pr.number,
    headSha: pr.headSha,
    verdict: comparison.verdict,
    comparedWith: judged.comparedWith,
    workloads: comparison.workloads,
  });
  const footer = deps.github.runUrl ? ` · [full report in the job summary](${deps.github.runUrl})` : '';
  const body = `${joinWithTrend(comparison.markdown.trimEnd(), judged.trend, `${judged.context}${footer}`)}\n`;
  s.result.comment = await postComment(deps, config, pr.number, suite, body, comparison.verdict);
  s.setOutput('comment-url', s.result.comment.url ?? '');
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

async function postComment(
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

/**
 * Whether a verdict is worth a new comment under comment-on-pr: on-change: a change was shown
 * (regressed or improved). An inconclusive run says "can't tell", which belongs in the job summary,
 * not in a comment on every pull request; an earlier comment is still updated whatever the verdict.
 */
export function worthAComment(verdict: Verdict): boolean {
  return verdict === 'regressed' || verdict === 'improved';
}
