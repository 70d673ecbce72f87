import * as core from '@actions/core';
import * as github from '@actions/github';
import { z } from 'zod';
import { errorMessage } from '../util/errors.ts';
import type { ActionCore, GitHubApi, GitHubContext } from './deps.ts';
import type { AlertIssue, IssuesApi } from './history-alert.ts';

/**
 * The one module that imports @actions/*: it turns the runner's environment into the injected
 * deps (core functions, the event, the API client). Everything else takes them as parameters.
 */

export function actionCore(): ActionCore {
  return {
    getInput: (name) => core.getInput(name),
    setSecret: (secret) => core.setSecret(secret),
    info: (message) => core.info(message),
    warning: (message) => core.warning(message),
    error: (message, properties) => core.error(message, properties ?? {}),
    setFailed: (message) => core.setFailed(message),
    setOutput: (name, value) => core.setOutput(name, value),
    writeSummary: async (markdown) => {
      if (!process.env.GITHUB_STEP_SUMMARY) {
        core.info('GITHUB_STEP_SUMMARY is not set (not on a runner?): the summary follows.\n' + markdown);
        return;
      }
      try {
        await core.summary.addRaw(markdown, true).write();
      } catch (error) {
        core.warning(`Could not write the job summary: ${errorMessage(error)}`);
      } finally {
        core.summary.emptyBuffer();
      }
    },
  };
}

const RepoSchema = z.object({ full_name: z.string() }).nullable().optional();
const PullRequestPayloadSchema = z.object({
  number: z.number().int().positive(),
  base: z.object({ sha: z.string(), repo: RepoSchema }),
  head: z.object({ sha: z.string(), repo: RepoSchema }),
});
const WorkflowRunPayloadSchema = z.object({
  head_sha: z.string().regex(/^[0-9a-f]{40}$/, 'expected a 40-hex commit'),
  html_url: z.url({ protocol: /^https?$/ }).optional(),
  pull_requests: z.array(z.object({ number: z.number().int().positive() })).default([]),
});

/** The parts of the event the Action uses, validated (a malformed payload is an error, not a guess). */
export function githubContext(context = github.context, env = process.env): GitHubContext {
  const repository = env.GITHUB_REPOSITORY ?? '';
  const payload = context.payload as Record<string, unknown>;
  let pullRequest: GitHubContext['pullRequest'] = null;
  if (payload.pull_request !== undefined && context.eventName.startsWith('pull_request')) {
    const pr = PullRequestPayloadSchema.safeParse(payload.pull_request);
    if (!pr.success) {
      throw new Error(
        `the ${context.eventName} event payload (${env.GITHUB_EVENT_PATH ?? 'GITHUB_EVENT_PATH'}) has no valid pull_request: ` +
          pr.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    }
    pullRequest = {
      number: pr.data.number,
      baseSha: pr.data.base.sha,
      headSha: pr.data.head.sha,
      baseRepo: pr.data.base.repo?.full_name ?? repository,
      headRepo: pr.data.head.repo?.full_name ?? '',
    };
  }
  let workflowRun: GitHubContext['workflowRun'] = null;
  if (context.eventName === 'workflow_run') {
    // mode comment trusts this payload to say which commit was tested: never guess it.
    const run = WorkflowRunPayloadSchema.safeParse(payload.workflow_run);
    if (!run.success) {
      throw new Error(
        `the workflow_run event payload (${env.GITHUB_EVENT_PATH ?? 'GITHUB_EVENT_PATH'}) has no valid workflow_run: ` +
          run.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    }
    workflowRun = {
      headSha: run.data.head_sha,
      pullRequestNumbers: run.data.pull_requests.map((p) => p.number),
      htmlUrl: run.data.html_url ?? null,
    };
  }
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  return {
    eventName: context.eventName,
    repository,
    sha: context.sha ?? '',
    ref: context.ref ?? '',
    runUrl:
      env.GITHUB_RUN_ID && repository ? `${server}/${repository}/actions/runs/${env.GITHUB_RUN_ID}` : null,
    pullRequest,
    workflowRun,
  };
}

type Octokit = ReturnType<typeof github.getOctokit>;

/** owner and name of GITHUB_REPOSITORY, and an Octokit for the token (GITHUB_API_URL honoured: GHES, tests). */
function repositoryClient(token: string, repository: string, env: NodeJS.ProcessEnv) {
  const [owner, repo] = repository.split('/');
  if (!owner || !repo) throw new Error(`GITHUB_REPOSITORY is "${repository}", expected owner/name`);
  const octokit = github.getOctokit(token, { baseUrl: env.GITHUB_API_URL || 'https://api.github.com' });
  return { owner, repo, octokit };
}

function toComment(c: {
  id: number;
  body?: string | null;
  html_url: string;
  user?: { login: string } | null;
}) {
  return { id: c.id, body: c.body ?? '', htmlUrl: c.html_url, author: c.user?.login ?? '' };
}

/** The token's login; null for an installation token (GITHUB_TOKEN, a GitHub App's): its comments are the bot's. */
async function authenticatedLogin(octokit: Octokit): Promise<string | null> {
  try {
    return (await octokit.rest.users.getAuthenticated()).data.login;
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    if (status === 401 || status === 403 || status === 404) return null;
    throw error;
  }
}

/** Issue comments and pull requests through Octokit. */
export function githubApi(token: string, repository: string, env = process.env): GitHubApi {
  const { owner, repo, octokit } = repositoryClient(token, repository, env);
  return {
    async listPage(issueNumber, page, perPage) {
      const response = await octokit.rest.issues.listComments({
        owner,
        repo,
        issue_number: issueNumber,
        page,
        per_page: perPage,
      });
      const link = String(response.headers.link ?? '');
      return { comments: response.data.map(toComment), hasNextPage: /rel="next"/.test(link) };
    },
    async create(issueNumber, body) {
      const response = await octokit.rest.issues.createComment({
        owner,
        repo,
        issue_number: issueNumber,
        body,
      });
      return toComment(response.data);
    },
    async update(commentId, body) {
      const response = await octokit.rest.issues.updateComment({ owner, repo, comment_id: commentId, body });
      return toComment(response.data);
    },
    authenticatedLogin: () => authenticatedLogin(octokit),
    async pullRequestHeadSha(pullNumber) {
      const response = await octokit.rest.pulls.get({ owner, repo, pull_number: pullNumber });
      return response.data.head.sha;
    },
  };
}

/** The repository's default branch, as the repos API reports it. */
export async function githubDefaultBranch(
  token: string,
  repository: string,
  env = process.env,
): Promise<string> {
  const { owner, repo, octokit } = repositoryClient(token, repository, env);
  return (await octokit.rest.repos.get({ owner, repo })).data.default_branch;
}

/** The repository's issues through Octokit (the history alert); GITHUB_API_URL is honoured. */
export function githubIssues(token: string, repository: string, env = process.env): IssuesApi {
  const { owner, repo, octokit } = repositoryClient(token, repository, env);
  const toIssue = (i: {
    number: number;
    body?: string | null;
    html_url: string;
    user?: { login: string } | null;
  }): AlertIssue => ({
    number: i.number,
    body: i.body ?? '',
    htmlUrl: i.html_url,
    author: i.user?.login ?? '',
  });
  return {
    async listOpenIssues(page, perPage) {
      const response = await octokit.rest.issues.listForRepo({
        owner,
        repo,
        state: 'open',
        page,
        per_page: perPage,
      });
      const link = String(response.headers.link ?? '');
      // The issues list includes pull requests; an alert is never one.
      const issues = response.data.filter((i) => !i.pull_request).map(toIssue);
      return { issues, hasNextPage: /rel="next"/.test(link) };
    },
    async createIssue(title, body) {
      return toIssue((await octokit.rest.issues.create({ owner, repo, title, body })).data);
    },
    async updateIssue(number, title, body) {
      return toIssue(
        (await octokit.rest.issues.update({ owner, repo, issue_number: number, title, body })).data,
      );
    },
    authenticatedLogin: () => authenticatedLogin(octokit),
  };
}
