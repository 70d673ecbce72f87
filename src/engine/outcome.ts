import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { AthenaBenchError, InfrastructureError, errorMessage } from '../util/errors.ts';
import { redact } from '../mysql/index.ts';
import { RESULTS_SCHEMA_VERSION, ResultsSchema, type Environment, type Results } from '../results/schema.ts';
import type { RunContext, RunOutcome } from './context.ts';
import { TOOL_VERSION } from './version.ts';

/** The run's end: results.json, written on every path, failures included (the gate writes the reports). */

/** The results so far (the verdict's adaptive-rounds hook reads them mid-run). */
export function buildResults(ctx: RunContext, status: Results['status'], failure: string | null): Results {
  const mysql = ctx.options.mysql;
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: { name: 'athena-bench', version: TOOL_VERSION },
    startedAt: new Date(ctx.startedMs).toISOString(),
    finishedAt: new Date(ctx.deps.now()).toISOString(),
    git: ctx.git,
    status,
    failure,
    suite: ctx.suite,
    measure: ctx.channels.measure,
    arms:
      ctx.liveArms.length > 0
        ? ctx.liveArms.map((a) => a.record)
        : [{ name: 'direct', role: 'direct', host: mysql?.host ?? '127.0.0.1', port: mysql?.port ?? 0 }],
    workloads: ctx.workloads,
    environment: ctx.environment ?? placeholderEnvironment(),
    warnings: [...ctx.warnings],
    phases: ctx.phases.phases(),
    ...(ctx.options.shardRecord ? { shard: ctx.options.shardRecord } : {}),
  };
}

/**
 * Runs the cleanups, writes results.json, and returns it — or, when the run
 * failed, throws its error with every secret removed (it may quote a proxy log or a driver).
 */
export async function finishRun(ctx: RunContext, failure: unknown): Promise<RunOutcome> {
  const problems = await ctx.phases.time('teardown', () => ctx.cleanup.runAll());
  for (const problem of problems) {
    ctx.deps.log(`warning: cleanup: ${problem}`);
    ctx.warnings.push(`Cleanup: ${redact(problem, ctx.secrets)}`);
  }
  const failureMessage = failure === undefined ? null : redact(errorMessage(failure), ctx.secrets);
  const results = ResultsSchema.parse(
    buildResults(ctx, failure === undefined ? 'complete' : 'failed', failureMessage),
  );
  const resultsPath = path.join(ctx.outDir, 'results.json');
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  if (failure !== undefined) {
    if (failure instanceof AthenaBenchError) {
      failure.message = failureMessage!;
      throw failure;
    }
    throw new InfrastructureError(failureMessage!, { cause: failure });
  }
  return { results, resultsPath };
}

function placeholderEnvironment(): Environment {
  return {
    cpuModel: 'unknown (the run failed before the environment was recorded)',
    cores: 0,
    memoryBytes: 0,
    kernel: 'unknown',
    os: 'unknown',
    runner: {},
    node: process.version,
    mysqlVersion: 'unknown',
    sysbenchVersion: null,
    mysqlslapVersion: null,
    ulimitNofile: null,
    somaxconn: null,
    valgrindVersion: null,
    glibcVersion: null,
  };
}
