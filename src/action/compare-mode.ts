import path from 'node:path';
import { chooseReference, isInside, type ChosenReference, type ReferenceRequest } from '../gate/reference.ts';
import type { BenchOutcome, ComparisonPlan, ComparisonView } from './deps.ts';
import { comparisonTrend } from './history-trend.ts';
import type { ActionConfig } from './inputs.ts';
import { publishVerdict } from './publish.ts';
import {
  CHECK_BENCH,
  CHECK_GIT,
  StepFailure,
  benchRequestBase,
  prepareRun,
  step,
  type Prepared,
  type Session,
} from './session.ts';

/**
 * mode compare: the suite measured against what the gate's rules choose (src/gate/reference.ts):
 * base-ref, the baseline input, the default baseline when it applies here, or on a pull request
 * the merge-base built in a worktree by the engine.
 */
export async function compare(s: Session): Promise<void> {
  const prepared = await prepareRun(s);
  const { reference, checkout } = await planComparison(s, prepared);
  const base = reference.kind === 'base-ref' ? { checkout: checkout!, commit: reference.commit! } : null;
  const outcome = await step('the benchmark', CHECK_BENCH, () =>
    s.deps.bench.run({
      ...benchRequestBase(s, prepared.suite),
      base,
      plan: reference,
      shard: s.config.shard,
    }),
  );
  s.setOutput('results-path', outcome.resultsPath);
  s.setOutput('report-path', outcome.reportPath);
  await judge(s, prepared.suite.name, reference, outcome);
}

async function judge(
  s: Session,
  suite: string,
  reference: ComparisonPlan,
  outcome: BenchOutcome,
): Promise<void> {
  const { deps, config } = s;
  const comparison: ComparisonView | null = outcome.comparison;
  if (!comparison) {
    // The measurements are still worth showing.
    await deps.core.writeSummary(`## athena-bench: ${suite}\n\n${outcome.reportMarkdown}\n`);
    throw new StepFailure('comparing the results', new Error('the benchmark returned no verdict'), '');
  }
  s.result.verdict = comparison.verdict;
  if (config.shard) {
    await reportShard(s, config.shard, suite, comparison.summaryLine, outcome.reportMarkdown);
    return;
  }
  const trend = await comparisonTrend(deps, config.history.branch, s.workdir, suite, outcome.results);
  await publishVerdict(s, {
    suite,
    comparedWith: reference.kind === 'baseline' ? 'baseline' : 'base-ref',
    context: contextLine(s.workdir, suite, reference),
    comparison,
    reportMarkdown: outcome.measurementMarkdown,
    trend,
  });
}

/**
 * What was compared, under the verdict's own summary line (one sticky comment per suite, so the
 * suite is named).
 */
function contextLine(workdir: string, suite: string, reference: ComparisonPlan): string {
  const what =
    reference.kind === 'baseline'
      ? `compared with the baseline \`${path.relative(workdir, reference.file) || reference.file}\``
      : reference.kind === 'base-ref'
        ? `compared with ${reference.ref} (${(reference.commit ?? '').slice(0, 12)}), built and run in the same job (A/B)`
        : 'not compared';
  return `Suite \`${suite}\` · ${what}`;
}

/** The gate's choice with the Action's inputs; a pull request falls back to its merge-base. */
async function planComparison(s: Session, { suite, mysqlVersion }: Prepared): Promise<ChosenReference> {
  const { deps, config, workdir } = s;
  const request = referenceRequest(
    config,
    workdir,
    suite,
    deps.packageRoot,
    deps.github.pullRequest?.baseSha,
  );
  const chosen = await step('choosing what to compare against', CHECK_GIT, () =>
    chooseReference(request, {
      git: deps.git,
      loadBaseline: (file) => deps.verdicts.loadBaseline(file),
      fingerprint: () => deps.bench.fingerprint({ suite, measure: config.measure, mysqlVersion }),
      log: (line) => deps.core.info(line),
    }),
  );
  if (chosen.reference.kind === 'none') {
    const file = request.defaultBaselines[0]!.file;
    throw new StepFailure(
      'choosing what to compare against',
      new Error(
        `${chosen.skipped ? `the baseline ${file} does not apply here (${chosen.skipped})` : `no baseline at ${file}`}, ` +
          'base-ref is empty and this is not a pull request',
      ),
      'commit a baseline recorded on this runner class (`mode: update-baseline`), set the baseline input, or set base-ref for an A/B comparison.',
    );
  }
  return chosen;
}

function referenceRequest(
  config: ActionConfig,
  workdir: string,
  suite: Prepared['suite'],
  packageRoot: string,
  pullRequestBase: string | undefined,
): ReferenceRequest {
  const defaultFile = path.join(workdir, 'baselines', `${suite.name}.json`);
  return {
    suite,
    measure: config.measure,
    baseRef: config.baseRef,
    baseline: config.baseline ? path.resolve(workdir, config.baseline) : null,
    noBaseline: false,
    defaultBaselines: [{ file: defaultFile, forAthena: isInside(defaultFile, packageRoot) }],
    athena: config.proxy.start === null,
    proxyDir: workdir,
    fallback: pullRequestBase ? { kind: 'merge-base', baseSha: pullRequestBase } : { kind: 'none' },
    names: {
      baseRef: 'input base-ref',
      baseline: 'input baseline',
      makeBaseline:
        'give a path relative to working-directory, or create the file with `mode: update-baseline`',
    },
  };
}

/**
 * One shard of a matrix: its verdict is judged with a part of the suite only, so it neither
 * comments nor fails the job; the merge job (mode merge) gives the verdict.
 */
async function reportShard(
  { deps }: Session,
  shard: NonNullable<ActionConfig['shard']>,
  suite: string,
  summaryLine: string,
  reportMarkdown: string,
): Promise<void> {
  const line = `Shard ${shard.index}/${shard.count} of suite \`${suite}\` measured; the verdict is the merge job's (this shard alone: ${summaryLine}).`;
  deps.core.info(line);
  await deps.core.writeSummary(
    `## athena-bench: shard ${shard.index}/${shard.count}\n\n${line}\n\n${reportMarkdown}\n`,
  );
}
