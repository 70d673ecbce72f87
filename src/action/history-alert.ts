import { formatShift } from '../report/dashboard.ts';
import type { ChangePoint } from '../history/detect.ts';
import { shortNumber } from '../util/format.ts';
import { ACTIONS_BOT } from './comment.ts';
import { DEFAULT_RETRY, createOnce, withRetries, type RetryOptions } from './retry.ts';

/**
 * The alert of the history mode: one open issue per suite (found again by a hidden marker in its
 * body, in an issue opened by the token's own identity) listing the change points on the default branch. A newly detected change point that is
 * not an improvement opens it; while it is open, every run updates it in place.
 */

export interface AlertIssue {
  number: number;
  body: string;
  htmlUrl: string;
  /** The login of whoever opened it. */
  author: string;
}

/** The slice of GitHub's issues API the alert needs (built on Octokit by the adapter). */
export interface IssuesApi {
  /** Open issues (not pull requests) of the repository, one page. */
  listOpenIssues(page: number, perPage: number): Promise<{ issues: AlertIssue[]; hasNextPage: boolean }>;
  createIssue(title: string, body: string): Promise<AlertIssue>;
  updateIssue(number: number, title: string, body: string): Promise<AlertIssue>;
  /** The token's own user; null for an installation token (GITHUB_TOKEN), whose issues are the bot's. */
  authenticatedLogin(): Promise<string | null>;
}

export function alertMarker(suite: string): string {
  return `<!-- athena-bench-history:${suite.replace(/-{2,}/g, '-').replace(/>/g, '')} -->`;
}

const key = (c: ChangePoint) => JSON.stringify([c.workload, c.arm, c.metric, c.commit]);

/** Change points of `after` that `before` did not have. */
export function newChangePoints(
  before: readonly ChangePoint[],
  after: readonly ChangePoint[],
): ChangePoint[] {
  const known = new Set(before.map(key));
  return after.filter((c) => !known.has(key(c)));
}

export function alertTitle(suite: string, changes: readonly ChangePoint[]): string {
  const newest = [...changes].sort((a, b) => b.time.localeCompare(a.time))[0]!;
  const more = changes.length > 1 ? ` and ${changes.length - 1} more` : '';
  return `athena-bench: ${suite} ${newest.metric} ${formatShift(newest)} at ${newest.commit.slice(0, 7)}${more}`;
}

export function alertBody(
  suite: string,
  changes: readonly ChangePoint[],
  checked: { commit: string; runUrl: string | null },
): string {
  const rows = [...changes]
    .sort((a, b) => b.time.localeCompare(a.time))
    .map((c) => {
      const run = c.runUrl ? `[run](${c.runUrl})` : '';
      const note = [c.direction, c.environmentChanged ? 'machine changed' : null].filter(Boolean).join(', ');
      return (
        `| ${c.workload} | ${c.metric} | \`${c.previousCommit.slice(0, 7)}..${c.commit.slice(0, 7)}\` | ` +
        `${formatShift(c)}${note ? ` (${note})` : ''} | ${shortNumber(c.before.median)} → ${shortNumber(c.after.median)} | ${run} |`
      );
    });
  const last = checked.runUrl
    ? `[${checked.commit.slice(0, 7)}](${checked.runUrl})`
    : checked.commit.slice(0, 7);
  return [
    alertMarker(suite),
    `The default branch's benchmark history of suite \`${suite}\` shows these change points ` +
      '(E-divisive with means; the shift came in the commit range given, the second commit is the first measured after it):',
    '',
    '| workload | metric | commits | shift | median before → after | |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Last checked at ${last}. This issue is updated by athena-bench while it is open; close it once handled.`,
    '',
  ].join('\n');
}

export type AlertOutcome =
  { action: 'opened' | 'updated'; number: number; url: string } | { action: 'none'; reason: string };

/**
 * The open issue carrying the suite's marker and opened by the token's identity. Anyone may open an
 * issue and paste the marker into it: updating theirs would put the alert under their title and
 * let them hide a real one, so issues by others are never taken for the alert.
 */
async function findAlertIssue(
  api: IssuesApi,
  suite: string,
  owners: ReadonlySet<string>,
  retry: RetryOptions,
): Promise<AlertIssue | null> {
  const marker = alertMarker(suite);
  for (let page = 1; page <= 20; page++) {
    const { issues, hasNextPage } = await withRetries(() => api.listOpenIssues(page, 100), retry);
    const found = issues.find((i) => owners.has(i.author) && i.body.includes(marker));
    if (found || !hasNextPage) return found ?? null;
  }
  return null;
}

export async function upsertAlert(o: {
  api: IssuesApi;
  suite: string;
  before: readonly ChangePoint[];
  after: readonly ChangePoint[];
  checked: { commit: string; runUrl: string | null };
  sleep: (ms: number) => Promise<void>;
}): Promise<AlertOutcome> {
  const fresh = newChangePoints(o.before, o.after).filter((c) => c.direction !== 'better');
  const retry: RetryOptions = { ...DEFAULT_RETRY, sleep: o.sleep };
  const login = await withRetries(() => o.api.authenticatedLogin(), retry);
  const owners = new Set([ACTIONS_BOT, ...(login ? [login] : [])]);
  const find = () => findAlertIssue(o.api, o.suite, owners, retry);
  const existing = await find();
  if (existing && o.after.length > 0) {
    const issue = await withRetries(
      () =>
        o.api.updateIssue(
          existing.number,
          alertTitle(o.suite, o.after),
          alertBody(o.suite, o.after, o.checked),
        ),
      retry,
    );
    return { action: 'updated', number: issue.number, url: issue.htmlUrl };
  }
  if (!existing && fresh.length > 0) {
    // A create whose answer was lost may have happened: look again before opening another.
    const issue = await createOnce(
      () => o.api.createIssue(alertTitle(o.suite, o.after), alertBody(o.suite, o.after, o.checked)),
      find,
      retry,
    );
    return { action: 'opened', number: issue.number, url: issue.htmlUrl };
  }
  return {
    action: 'none',
    reason: o.after.length === 0 ? 'no change point' : 'no new change point and no open alert issue',
  };
}
