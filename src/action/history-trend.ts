import { errorMessage } from '../util/errors.ts';
import type { Results } from '../results/schema.ts';
import { historyFileName, parseHistory } from '../history/store.ts';
import { currentRun, renderTrend } from '../history/trend.ts';
import { MAX_COMMENT_CHARS } from './comment.ts';
import type { ActionDeps } from './deps.ts';

/**
 * The trend of the default branch for mode compare: the suite's history read, read-only, from
 * the data branch when the checkout has it (actions/checkout with `fetch-depth: 0` fetches every
 * branch), and this run's values appended. No history, no trend; a trend that cannot be drawn is
 * a warning, never a failure of the comparison.
 */

export async function comparisonTrend(
  deps: ActionDeps,
  dataBranch: string,
  workdir: string,
  suite: string,
  results: Results,
): Promise<string> {
  const read = deps.git.readFileAtRef;
  if (!read) return '';
  try {
    const current = currentRun(results);
    if (!current) return '';
    const file = historyFileName(suite);
    const root = await deps.git.repoRoot(workdir);
    for (const ref of [`refs/remotes/origin/${dataBranch}`, `refs/heads/${dataBranch}`]) {
      const text = await read(root, ref, file);
      if (text === null) continue;
      return renderTrend(parseHistory(text, `${dataBranch}/${file}`), current);
    }
    deps.core.info(`No trend: the data branch ${dataBranch} (with ${file}) is not in this checkout.`);
    return '';
  } catch (error) {
    deps.core.warning(`No trend of the default branch: ${errorMessage(error)}`);
    return '';
  }
}

/** Room kept for the comment's marker and footer beyond the parts joined here. */
const MARGIN = 500;

/**
 * The comment's parts with the trend among them when all of it fits under the comment limit;
 * otherwise without it (a cut-off chart would not render).
 */
export function joinWithTrend(before: string, trend: string, after: string): string {
  const parts = [before, trend, after].filter((p) => p !== '');
  const joined = parts.join('\n\n');
  if (trend === '' || joined.length + MARGIN <= MAX_COMMENT_CHARS) return joined;
  return [before, after].filter((p) => p !== '').join('\n\n');
}
