import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { AthenaBenchError, errorMessage } from '../util/errors.ts';
import type { Suite } from '../suite/schema.ts';
import { calibrateProxy } from './calibrate-mode.ts';
import { postCommentFromArtifact } from './comment-mode.ts';
import { compare } from './compare-mode.ts';
import type { ActionCore, ActionDeps } from './deps.ts';
import { recordHistory } from './history-mode.ts';
import { readActionConfig, type ActionConfig } from './inputs.ts';
import { mergeShardArtifacts } from './merge.ts';
import {
  CHECK_BENCH,
  StepFailure,
  benchRequestBase,
  prepareRun,
  step,
  type ActionResult,
  type Session,
} from './session.ts';

export { StepFailure, type ActionResult } from './session.ts';

/** The Action: reads the inputs, runs the mode they ask for, and sets the step's status. */
export async function run(deps: ActionDeps): Promise<ActionResult> {
  const result: ActionResult = { verdict: null, failed: false, outputs: {}, comment: null };
  const fail = (message: string) => {
    result.failed = true;
    deps.core.setFailed(message);
  };
  let config: ActionConfig;
  try {
    config = readActionConfig(deps.core);
  } catch (error) {
    fail(errorMessage(error));
    return result;
  }
  const workdir = path.resolve(deps.workspace, config.workingDirectory);
  const session: Session = {
    deps,
    config,
    workdir,
    resultsDir: path.resolve(workdir, config.resultsDir),
    result,
    setOutput: (name, value) => {
      result.outputs[name] = value;
      deps.core.setOutput(name, value);
    },
    fail,
  };
  try {
    await runMode(session);
  } catch (error) {
    await reportFailure(deps.core, error, fail);
  }
  return result;
}

function runMode(s: Session): Promise<void> {
  switch (s.config.mode) {
    case 'comment':
      return postCommentFromArtifact(s);
    case 'update-baseline':
      return updateBaseline(s);
    case 'compare':
      return compare(s);
    case 'history':
      return recordHistory(s.deps, s.config, s.workdir, historyRun(s), s.setOutput);
    case 'merge':
      return mergeShardArtifacts(s);
    case 'calibrate':
      return calibrateProxy(s);
  }
}

/** The failure in the job summary (the log scrolls away) and as the step's failure message. */
async function reportFailure(
  core: ActionCore,
  error: unknown,
  fail: (message: string) => void,
): Promise<void> {
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

/** A benchmark without a verdict (update-baseline, history). */
function measureOnly(s: Session, suite: Suite) {
  return step('the benchmark', CHECK_BENCH, () =>
    s.deps.bench.run({ ...benchRequestBase(s, suite), base: null, plan: { kind: 'none' } }),
  );
}

function historyRun(s: Session) {
  return {
    prepare: async () => (await prepareRun(s)).suite,
    bench: (suite: Suite) => measureOnly(s, suite),
    step,
  };
}

/** mode update-baseline: the suite measured, its baseline written (default baselines/<suite>.json). */
async function updateBaseline(s: Session): Promise<void> {
  const { deps, config, workdir, setOutput } = s;
  const { suite } = await prepareRun(s);
  const target = path.resolve(workdir, config.baseline ?? path.join('baselines', `${suite.name}.json`));
  const outcome = await measureOnly(s, suite);
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
