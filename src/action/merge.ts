import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { publishVerdict } from './publish.ts';
import { StepFailure, type Session } from './session.ts';

/** Where mode merge writes the merged results.json and reports, inside results-dir. */
export const MERGED_DIR = 'merged';

/**
 * mode: merge — the final job of a sharded matrix. results-dir holds the shards' downloaded
 * artifacts, one subdirectory each; they are checked and judged as one run (src/gate/merge.ts),
 * and the verdict is published as a compare run's: one summary, one comment, the outputs.
 */
export async function mergeShardArtifacts(s: Session): Promise<void> {
  const { deps, config, workdir, resultsDir, setOutput } = s;
  const dirs = await shardDirectories(resultsDir);
  const suite = await deps.bench.loadSuite(config.suite, workdir);
  const { plan, recordedBaseline } = await mergeReference(s, suite.name);
  deps.core.info(`Merging ${dirs.length} shard(s): ${dirs.map((d) => path.basename(d)).join(', ')}`);
  const outcome = await deps.bench.merge({
    dirs,
    outDir: path.join(resultsDir, MERGED_DIR),
    plan,
    recordedBaseline,
  });
  setOutput('results-path', outcome.resultsPath);
  setOutput('report-path', outcome.reportPath);
  const comparison = outcome.comparison;
  if (!comparison) {
    await deps.core.writeSummary(`## athena-bench: ${suite.name}\n\n${outcome.reportMarkdown}\n`);
    throw new StepFailure(
      'comparing the merged results',
      new Error('nothing to compare with: no baseline file, and the shards did not run base-vs-head'),
      'commit a baseline (`mode: update-baseline`), or set base-ref in the shard jobs.',
    );
  }
  const shards = outcome.results.shards?.length ?? dirs.length;
  const reference = outcome.results.arms.find((a) => a.role === 'base');
  const baseline = comparison.comparedWith === 'baseline' ? (plan ?? recordedBaseline) : null;
  const context =
    `Suite \`${suite.name}\` · ${shards} shards merged · ` +
    (baseline
      ? `compared with the baseline \`${path.relative(workdir, baseline.file) || baseline.file}\``
      : `compared with arm ${reference?.name ?? 'base'}${reference?.commit ? ` (${reference.commit.slice(0, 12)})` : ''}, built and run in each shard's job (A/B)`);
  await publishVerdict(s, {
    suite: suite.name,
    comparedWith: baseline ? 'baseline' : 'base-ref',
    context,
    comparison,
    reportMarkdown: outcome.measurementMarkdown,
    trend: '',
  });
}

/** The subdirectories of results-dir (the downloaded artifacts), the merge's own output excluded. */
async function shardDirectories(resultsDir: string): Promise<string[]> {
  const entries = await readdir(resultsDir, { withFileTypes: true }).catch(() => []);
  const dirs = entries
    .filter((e) => e.isDirectory() && e.name !== MERGED_DIR)
    .map((e) => path.join(resultsDir, e.name))
    .sort();
  if (dirs.length === 0) {
    throw new StepFailure(
      'mode merge',
      new Error(`${resultsDir} has no shard directories`),
      'that the merge job downloads every shard artifact into results-dir, each in its own directory (actions/download-artifact with a pattern and without merge-multiple).',
    );
  }
  return dirs;
}

/**
 * The baseline input when given; otherwise the shards' own choice (each recorded it): the default
 * baselines/<suite>.json when they were judged against it, else their base-vs-head arms.
 */
async function mergeReference({ deps, config, workdir }: Session, suite: string) {
  const file = path.resolve(workdir, config.baseline ?? path.join('baselines', `${suite}.json`));
  if (!existsSync(file)) {
    if (config.baseline) {
      throw new StepFailure('mode merge', new Error(`input baseline: ${file} does not exist`), '');
    }
    return { plan: null, recordedBaseline: null };
  }
  const loaded = { kind: 'baseline' as const, file, baseline: await deps.verdicts.loadBaseline(file) };
  return config.baseline
    ? { plan: loaded, recordedBaseline: null }
    : { plan: null, recordedBaseline: loaded };
}
