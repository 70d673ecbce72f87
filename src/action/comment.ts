import { errorMessage } from '../util/errors.ts';
import type { CommentPolicy } from './inputs.ts';
import { DEFAULT_RETRY, createOnce, httpStatus, withRetries, type RetryOptions } from './retry.ts';

/**
 * The sticky pull-request comment: one per PR and suite, found again by a hidden marker and
 * updated in place. A comment failure is logged and reported, never thrown: the verdict (summary,
 * outputs, exit status) must not depend on whether the token may write.
 */

export interface IssueComment {
  id: number;
  body: string;
  htmlUrl: string;
  /** The author's login. */
  author: string;
}

/** The slice of GitHub's issue-comments API the comment needs (built on Octokit by the adapter). */
export interface IssueCommentsApi {
  listPage(
    issueNumber: number,
    page: number,
    perPage: number,
  ): Promise<{ comments: IssueComment[]; hasNextPage: boolean }>;
  create(issueNumber: number, body: string): Promise<IssueComment>;
  update(commentId: number, body: string): Promise<IssueComment>;
  /** The token's own user; null for an installation token (GITHUB_TOKEN), which has none. */
  authenticatedLogin(): Promise<string | null>;
}

/** Who posts with the workflow's GITHUB_TOKEN. */
export const ACTIONS_BOT = 'github-actions[bot]';

export interface CommentLog {
  info(message: string): void;
  warning(message: string): void;
}

export type CommentOutcome =
  | { action: 'created' | 'updated'; url: string }
  | { action: 'skipped'; url: null; reason: string }
  | { action: 'forbidden' | 'failed'; url: null; reason: string };

export interface UpsertOptions {
  api: IssueCommentsApi;
  issueNumber: number;
  /** Suite name: one sticky comment per suite. */
  suite: string;
  /** The comment text, without the marker. */
  body: string;
  policy: CommentPolicy;
  /** Whether the verdict is worth a new comment under on-change (regressed or improved). */
  changed: boolean;
  log: CommentLog;
  sleep: (ms: number) => Promise<void>;
  /** Attempts per API call (transient errors only). */
  attempts?: number;
  perPage?: number;
}

/** GitHub's limit for a comment body is 65,536 characters. */
export const MAX_COMMENT_CHARS = 65_000;

export function commentMarker(suite: string): string {
  // '--' would end the HTML comment early; suite names are slugs but file paths may hold anything.
  return `<!-- athena-bench:${suite.replace(/-{2,}/g, '-').replace(/>/g, '')} -->`;
}

export function withMarker(suite: string, body: string): string {
  const marker = commentMarker(suite);
  const room = MAX_COMMENT_CHARS - marker.length - 1;
  const note = '\n\n_(truncated: the full report is in the job summary)_';
  const text = body.length > room ? body.slice(0, room - note.length) + note : body;
  return `${marker}\n${text}`;
}

/**
 * Finds the comment carrying the suite's marker, paging through all of the PR's comments. Only
 * comments by owners count: anyone can paste the marker into a comment of their own, and editing
 * theirs would put the verdict under their name, or let them replace the real one.
 */
export async function findStickyComment(
  api: IssueCommentsApi,
  issueNumber: number,
  suite: string,
  owners: ReadonlySet<string>,
  call: <T>(fn: () => Promise<T>) => Promise<T>,
  perPage = 100,
): Promise<IssueComment | null> {
  const marker = commentMarker(suite);
  for (let page = 1; ; page += 1) {
    const { comments, hasNextPage } = await call(() => api.listPage(issueNumber, page, perPage));
    const found = comments.find((c) => owners.has(c.author) && c.body.startsWith(marker));
    if (found) return found;
    if (!hasNextPage || comments.length === 0) return null;
  }
}

const FORK_HINT =
  'The token cannot write to this pull request (a pull request from a fork gets a read-only token). ' +
  'The verdict stands in the job summary and the step outputs. To comment on fork pull requests, ' +
  'upload the results directory as an artifact and post it from a workflow_run workflow with ' +
  '`mode: comment` (see "Fork-safe PR comments" in the README).';

export async function upsertStickyComment(options: UpsertOptions): Promise<CommentOutcome> {
  const { api, issueNumber, suite, policy, log } = options;
  if (policy === 'never') return { action: 'skipped', url: null, reason: 'comment-on-pr is never' };
  const retry: RetryOptions = {
    ...DEFAULT_RETRY,
    attempts: options.attempts ?? DEFAULT_RETRY.attempts,
    sleep: options.sleep,
    onRetry: (error, attempt, delayMs) =>
      log.info(
        `GitHub API call failed (${describe(error)}); retry ${attempt} in ${(delayMs / 1000).toFixed(1)} s`,
      ),
  };
  const call = <T>(fn: () => Promise<T>) => withRetries(fn, retry);
  const body = withMarker(suite, options.body);
  try {
    const login = await call(() => api.authenticatedLogin());
    const owners = new Set([ACTIONS_BOT, ...(login ? [login] : [])]);
    const existing = await findStickyComment(api, issueNumber, suite, owners, call, options.perPage);
    if (existing) {
      const updated = await call(() => api.update(existing.id, body));
      log.info(`Updated the pull-request comment: ${updated.htmlUrl}`);
      return { action: 'updated', url: updated.htmlUrl };
    }
    if (policy === 'on-change' && !options.changed) {
      return {
        action: 'skipped',
        url: null,
        reason: 'comment-on-pr is on-change, the verdict shows no change and there is no earlier comment',
      };
    }
    // A create whose answer was lost may have happened: look again before creating another.
    const created = await createOnce(
      () => api.create(issueNumber, body),
      () => findStickyComment(api, issueNumber, suite, owners, call, options.perPage),
      retry,
    );
    log.info(`Created the pull-request comment: ${created.htmlUrl}`);
    return { action: 'created', url: created.htmlUrl };
  } catch (error) {
    const status = httpStatus(error);
    if (status === 401 || status === 403 || status === 404) {
      log.warning(`Could not comment on pull request #${issueNumber} (HTTP ${status}). ${FORK_HINT}`);
      return { action: 'forbidden', url: null, reason: describe(error) };
    }
    log.warning(
      `Could not comment on pull request #${issueNumber}: ${describe(error)}. ` +
        'The verdict stands in the job summary and the step outputs.',
    );
    return { action: 'failed', url: null, reason: describe(error) };
  }
}

function describe(error: unknown): string {
  const status = httpStatus(error);
  return status === undefined ? errorMessage(error) : `HTTP ${status}: ${errorMessage(error)}`;
}
