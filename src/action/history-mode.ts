import { DEFAULT_DETECT_OPTIONS, detectChangePoints, type ChangePoint } from '../history/detect.ts';
import { formatShift } from '../report/dashboard.ts';
import { pointFromResults } from '../history/point.ts';
import type { HistoryPoint } from '../history/schema.ts';
import { UsageError, errorMessage } from '../util/errors.ts';
import type { Suite } from '../suite/schema.ts';
import { shortNumber } from '../util/format.ts';
import type { ActionDeps, BenchOutcome, HistoryDeps } from './deps.ts';
import type { DataBranchOutcome } from './history-branch.ts';
import { newChangePoints, upsertAlert, type AlertOutcome } from './history-alert.ts';
import { refuseCodeBranchAsHistory } from './history-branch-guard.ts';
import { notifyNewChangePoints } from './history-webhook.ts';
import type { ActionConfig } from './inputs.ts';

/**
 * mode history, on pushes to the default branch: benchmark this commit, append the run to the
 * suite's history on the data branch (retrying when another run pushed first), look for change
 * points in the updated history, and open or update the suite's alert issue when one is new.
 */

const CHECK_DATA_BRANCH =
  'that the workflow may push (`permissions: contents: write`), and that actions/checkout left the ' +
  "`origin` remote configured (its default). The data branch's name is the history-branch input.";

export interface HistoryRun {
  /** Loads the suite and waits for MySQL (as the other modes do). */
  prepare(): Promise<Suite>;
  /** Benchmarks the suite without a verdict. */
  bench(suite: Suite): Promise<BenchOutcome>;
  /** Runs fn, turning a failure into the step's failure message naming the part and what to check. */
  step<T>(part: string, check: string, fn: () => Promise<T>): Promise<T>;
}

function changeRows(changes: readonly ChangePoint[]): string {
  if (changes.length === 0) return 'No change point in the history.';
  return [
    '| workload | metric | commits | shift | median before → after |',
    '|---|---|---|---|---|',
    ...changes.map(
      (c) =>
        `| ${c.workload} | ${c.metric} | \`${c.previousCommit.slice(0, 7)}..${c.commit.slice(0, 7)}\` | ` +
        `${formatShift(c)}${c.direction ? ` (${c.direction})` : ''} | ${shortNumber(c.before.median)} → ${shortNumber(c.after.median)} |`,
    ),
  ].join('\n');
}

export async function recordHistory(
  deps: ActionDeps,
  config: ActionConfig,
  workdir: string,
  run: HistoryRun,
  setOutput: (name: string, value: string) => void,
): Promise<void> {
  const { core, github } = deps;
  const history = deps.history;
  if (!history) throw new Error('mode history is not available in this build');
  if (!/^[0-9a-f]{40}$/i.test(github.sha)) {
    throw new UsageError(`mode history needs the commit being pushed (GITHUB_SHA), got "${github.sha}"`);
  }
  const { defaultBranch } = history;
  await refuseCodeBranchAsHistory({
    branch: config.history.branch,
    ref: github.ref,
    defaultBranch: defaultBranch && config.githubToken ? () => defaultBranch(config.githubToken) : null,
    warning: (message) => core.warning(message),
  });
  const suite = await run.prepare();
  const outcome = await run.bench(suite);
  setOutput('results-path', outcome.resultsPath);
  setOutput('report-path', outcome.reportPath);
  const point = pointFromResults(outcome.results, {
    commit: github.sha.toLowerCase(),
    ...(github.runUrl ? { runUrl: github.runUrl } : {}),
  });
  const appended = await appendPoint(deps, history, config, workdir, run, suite.name, point);
  const before = detectChangePoints([appended.before], DEFAULT_DETECT_OPTIONS);
  const after = detectChangePoints([appended.after], DEFAULT_DETECT_OPTIONS);
  const branch = config.history.branch;
  const points = appended.after.points.length;
  core.info(
    `${appended.added ? 'Appended' : 'Already in'} ${branch}/${suite.name}.json: ${points} point(s), ${after.length} change point(s).`,
  );
  const alert = await alertOnChange(deps, history, config, suite.name, point, { before, after });
  await notifyNewChangePoints({
    url: config.webhookUrl,
    suite: suite.name,
    fresh: newChangePoints(before, after).filter((c) => c.direction !== 'better'),
    runUrl: github.runUrl,
    sleep: (ms) => deps.sleep(ms),
    info: (line) => core.info(line),
    warning: (line) => core.warning(line),
  });
  const summaryLine =
    `History of ${suite.name}: ${points} point(s) on ${branch}, ${after.length} change point(s)` +
    (alert && alert.action !== 'none' ? `; alert issue #${alert.number} ${alert.action}` : '') +
    '.';
  setOutput('summary', summaryLine);
  await core.writeSummary(
    `## athena-bench: history of ${suite.name}\n\n${summaryLine}\n\n${changeRows(after)}\n\n---\n\n${outcome.reportMarkdown}\n`,
  );
}

/** This run's point on the data branch (retried when another run pushed first). */
async function appendPoint(
  deps: ActionDeps,
  history: HistoryDeps,
  config: ActionConfig,
  workdir: string,
  run: HistoryRun,
  suite: string,
  point: HistoryPoint,
): Promise<DataBranchOutcome> {
  const root = await run.step('finding the repository', CHECK_DATA_BRANCH, () => deps.git.repoRoot(workdir));
  const branch = config.history.branch;
  return run.step(`appending to the data branch ${branch}`, CHECK_DATA_BRANCH, () =>
    history.appendToDataBranch({
      repoRoot: root,
      remote: 'origin',
      branch,
      suite,
      points: [point],
      retention: config.history.retention,
      message: `athena-bench: ${suite} at ${point.commit.slice(0, 12)}`,
      attempts: 6,
      ...(config.githubToken ? { token: config.githubToken } : {}),
      sleep: (ms) => deps.sleep(ms),
      log: (line) => deps.core.info(line),
    }),
  );
}

/** The suite's alert issue opened or updated on a new change point; a failure only warns. */
async function alertOnChange(
  deps: ActionDeps,
  history: HistoryDeps,
  config: ActionConfig,
  suite: string,
  point: HistoryPoint,
  changes: { before: ChangePoint[]; after: ChangePoint[] },
): Promise<AlertOutcome | null> {
  const { core } = deps;
  if (!config.githubToken) {
    core.warning('No github-token: no alert issue (the change points are in the job summary).');
    return null;
  }
  // An alert that cannot be posted must not lose the appended point or fail the push's check.
  const alert = await upsertAlert({
    api: history.issues(config.githubToken),
    suite,
    ...changes,
    checked: { commit: point.commit, runUrl: deps.github.runUrl },
    sleep: (ms) => deps.sleep(ms),
  }).catch((error: unknown) => {
    core.warning(`Could not open or update the alert issue: ${errorMessage(error)}`);
    return null;
  });
  if (alert && alert.action !== 'none')
    core.info(`Alert issue #${alert.number} ${alert.action}: ${alert.url}`);
  return alert;
}
