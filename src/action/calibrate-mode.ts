import { CHECK_BENCH, benchRequestBase, prepareRun, step, type Session } from './session.ts';

/** The regression the calibration sizes the budget for, as `athena-bench calibrate` does by default. */
export const CALIBRATION_TARGET_PCT = 5;

/**
 * mode calibrate: the proxy against an identical twin in one job (src/gate/calibrate.ts), as
 * `athena-bench calibrate` runs it: this runner's noise, and the smallest regression the suite can
 * report on it. The table goes to the job summary and the `calibration` output; it judges nothing.
 */
export async function calibrateProxy(s: Session): Promise<void> {
  const { deps, setOutput } = s;
  const { suite } = await prepareRun(s);
  const outcome = await step('the calibration run', CHECK_BENCH, () =>
    deps.bench.calibrate({ ...benchRequestBase(s, suite), targetPct: CALIBRATION_TARGET_PCT }),
  );
  setOutput('results-path', outcome.resultsPath);
  setOutput('report-path', outcome.reportPath);
  setOutput('calibration', outcome.text);
  const summaryLine = outcome.text.trim().split('\n').at(-1) ?? '';
  setOutput('summary', summaryLine);
  deps.core.info(outcome.text);
  await deps.core.writeSummary(
    `## athena-bench: calibration\n\n${outcome.text}\n---\n\n${outcome.reportMarkdown}\n`,
  );
}
