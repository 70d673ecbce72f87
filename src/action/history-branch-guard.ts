import { UsageError, errorMessage } from '../util/errors.ts';
import { httpStatus } from './retry.ts';

/**
 * mode history commits onto history-branch: a commit whose tree is the branch's tree with the
 * suite's file added. Named after the default branch (or the branch being pushed), that would put
 * benchmark data commits onto the code's own branch. Refused before anything is measured.
 *
 * Checked: the repository's default branch as the API reports it (when there is a token and the
 * API answers), the branch this push is for (GITHUB_REF), and `main` and `master` always — the
 * names a default branch almost always has, so the guard holds when the API cannot be asked.
 */

/** Never a data branch, whatever the API says. */
export const NEVER_DATA_BRANCHES: readonly string[] = ['main', 'master'];

export interface HistoryBranchCheck {
  branch: string;
  /** GITHUB_REF of the run (refs/heads/<branch> on a push); '' or absent elsewhere. */
  ref: string | undefined;
  /** The repository's default branch from the API; null: no token, or no API to ask. */
  defaultBranch: (() => Promise<string>) | null;
  warning: (message: string) => void;
}

export async function refuseCodeBranchAsHistory(o: HistoryBranchCheck): Promise<void> {
  const refuse = (why: string) => {
    throw new UsageError(
      `input history-branch: '${o.branch}' is ${why}; mode history commits benchmark data onto ` +
        'history-branch, so it must be a branch of its own such as athena-bench-data',
    );
  };
  if (NEVER_DATA_BRANCHES.includes(o.branch))
    refuse(`a code branch name (${NEVER_DATA_BRANCHES.join(', ')})`);
  const pushed = o.ref?.startsWith('refs/heads/') ? o.ref.slice('refs/heads/'.length) : null;
  if (pushed === o.branch) refuse('the branch this run was pushed to');
  if (!o.defaultBranch) {
    o.warning(
      `No github-token: could not ask the API for the default branch; history-branch '${o.branch}' ` +
        `was only checked against ${NEVER_DATA_BRANCHES.join(', ')} and the pushed branch.`,
    );
    return;
  }
  let defaultBranch: string;
  try {
    defaultBranch = await o.defaultBranch();
  } catch (error) {
    const status = httpStatus(error);
    o.warning(
      `Could not read the repository's default branch (${status ? `HTTP ${status}: ` : ''}${errorMessage(error)}); history-branch ` +
        `'${o.branch}' was only checked against ${NEVER_DATA_BRANCHES.join(', ')} and the pushed branch.`,
    );
    return;
  }
  if (defaultBranch === o.branch) refuse("the repository's default branch");
}
