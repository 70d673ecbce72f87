import { UsageError } from '../util/errors.ts';
import { VERDICT_MARK } from '../report/comparison.ts';
import { readCommentArtifact, type CommentArtifact } from './artifact.ts';
import { upsertStickyComment } from './comment.ts';
import type { GitHubApi, WorkflowRunInfo } from './deps.ts';
import { worthAComment } from './publish.ts';
import { StepFailure, step, type Session } from './session.ts';
import { renderTrustedComment, trustedSummaryLine } from './trustedComment.ts';

/** mode: comment — the fork-safe poster, run from workflow_run with the downloaded results-dir. */
export async function postCommentFromArtifact(s: Session): Promise<void> {
  const { deps, config, setOutput } = s;
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
  const artifact = await step('reading the results artifact', '', () => readCommentArtifact(s.resultsDir));
  if (!config.githubToken)
    throw new UsageError('input github-token: mode comment needs a token that can write');
  const api = deps.githubApi(config.githubToken);
  await checkProvenance(api, artifact, run);
  const summaryLine = trustedSummaryLine(artifact, 'plain');
  s.result.verdict = artifact.verdict;
  setOutput('verdict', artifact.verdict);
  setOutput('regressed', String(artifact.verdict === 'regressed'));
  setOutput('summary', summaryLine);
  s.result.comment = await upsertStickyComment({
    api,
    issueNumber: artifact.pullRequest,
    suite: artifact.suite,
    body: renderTrustedComment(artifact, run.htmlUrl),
    policy: config.commentOnPr,
    changed: worthAComment(artifact.verdict),
    log: deps.core,
    sleep: (ms) => deps.sleep(ms),
  });
  setOutput('comment-url', s.result.comment.url ?? '');
  await deps.core.writeSummary(
    `## athena-bench: pull request #${artifact.pullRequest} — ${VERDICT_MARK[artifact.verdict]}\n\n` +
      `${trustedSummaryLine(artifact, 'markdown')}\n\nComment: ${s.result.comment.url ?? s.result.comment.action}\n`,
  );
}

/**
 * The artifact comes from an untrusted run: it must be about the commit that run tested, and only
 * comment on a pull request whose head that commit is.
 */
async function checkProvenance(
  api: GitHubApi,
  artifact: CommentArtifact,
  run: WorkflowRunInfo,
): Promise<void> {
  const refuse = (why: string) =>
    new StepFailure(
      'checking the results artifact',
      new Error(why),
      "that the comment workflow runs on workflow_run of the perf-gate workflow and downloads that run's artifact.",
    );
  if (artifact.headSha !== run.headSha) {
    throw refuse(
      `it is for commit ${artifact.headSha.slice(0, 12)}, but the workflow run tested ${run.headSha.slice(0, 12)}`,
    );
  }
  if (run.pullRequestNumbers.includes(artifact.pullRequest)) return;
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
