import path from 'node:path';
import { driverFor } from '../drivers/index.ts';
import { ATHENA_BUILD_COMMAND, baseRefArm } from '../engine/arms.ts';
import { TWIN_ARM, calibrate } from '../gate/calibrate.ts';
import { runnerFingerprint } from '../gate/fingerprint.ts';
import { defaultProxyArm, type ArmSource, type EngineDeps, type ProxyArmSpec } from '../engine/run.ts';
import type { ProgressSink } from '../harness/progress.ts';
import { loadSuite } from '../suite/load.ts';
import { applySuiteOverrides } from '../suite/overrides.ts';
import type { Exec } from '../util/exec.ts';
import { runGate, type GateOutcome } from '../gate/runGate.ts';
import { mergeShards } from '../gate/merge.ts';
import { signedChange } from '../util/format.ts';
import { baselineFromResults, loadBaseline, writeBaseline } from '../verdict/baseline.ts';
import { formatDelta, type Comparison } from '../verdict/compare.ts';
import type {
  Benchmarker,
  BenchRequest,
  CalibrateOutcome,
  CalibrateRequest,
  ComparisonView,
  ProxyUnderTest,
  Verdicts,
} from './deps.ts';

/**
 * The real gate (src/gate) and baseline files behind the Action's Benchmarker and Verdicts seams. No
 * decisions live here beyond turning the Action's inputs into arms and a comparison into a view.
 */

const ATHENA_METRICS_PORT = 4307;

function metricsPortOf(url: string | null): number {
  if (!url) return ATHENA_METRICS_PORT;
  const port = new URL(url).port;
  return port === '' ? 80 : Number(port);
}

/** The proxy under test: the user's commands, or this repository's Athena when proxy-start is empty. */
export function proxyArm(proxy: ProxyUnderTest, outDir: string): ArmSource {
  if (proxy.start === null) {
    return async (ctx) => {
      const spec = defaultProxyArm(ctx.mysql, proxy.cwd, {
        port: proxy.port,
        metricsPort: metricsPortOf(proxy.metricsUrl),
        configPath: path.join(outDir, 'athena.toml'),
      });
      return { ...spec, build: proxy.build ?? ATHENA_BUILD_COMMAND };
    };
  }
  const spec: ProxyArmSpec = {
    name: 'proxy',
    role: 'proxy',
    start: proxy.start,
    port: proxy.port,
    cwd: proxy.cwd,
    // Without athena_queries_total the engine cannot count the proxy's queries and skips the check.
    trafficCheck: proxy.metricsUrl !== null,
    ...(proxy.build !== null ? { build: proxy.build } : {}),
    ...(proxy.metricsUrl !== null ? { metricsUrl: proxy.metricsUrl } : {}),
  };
  return spec;
}

/**
 * The base-ref build: the engine's worktree arm (src/engine/arms.ts) with the same commands, in the
 * same directory of the checkout. Athena gets its ports in its generated config; another proxy
 * must listen on $ATHENA_BENCH_PROXY_PORT.
 */
export function baseArm(proxy: ProxyUnderTest, base: NonNullable<BenchRequest['base']>): ArmSource {
  return baseRefArm(base.checkout, base.commit, {
    relativeCwd: path.relative(base.checkout, proxy.cwd),
    ...(proxy.build !== null ? { build: proxy.build } : {}),
    ...(proxy.start !== null ? { start: proxy.start } : {}),
  });
}

/** The proxy's identical twin for mode calibrate: ports of its own, built once by the proxy's arm. */
export function twinArm(proxy: ProxyUnderTest, outDir: string): ArmSource {
  return async (ctx) => {
    if (proxy.start === null) {
      const { build: _build, ...spec } = defaultProxyArm(ctx.mysql, proxy.cwd, {
        name: TWIN_ARM,
        role: 'base',
        port: await ctx.allocatePort(),
        metricsPort: await ctx.allocatePort(),
        configPath: path.join(outDir, `athena-${TWIN_ARM}.toml`),
      });
      return spec;
    }
    const port = await ctx.allocatePort();
    return { name: TWIN_ARM, role: 'base', start: proxy.start, port, cwd: proxy.cwd, trafficCheck: false };
  };
}

export interface RealBenchmarkerDeps {
  exec: Exec;
  log: (line: string) => void;
  progress: ProgressSink;
  env: NodeJS.ProcessEnv;
}

const BUILTIN_SUITE = /^[a-z0-9][a-z0-9_-]*$/;

export function realBenchmarker(deps: RealBenchmarkerDeps): Benchmarker {
  const engineDeps: EngineDeps = {
    exec: deps.exec,
    now: Date.now,
    log: deps.log,
    progress: deps.progress,
    env: deps.env,
    driverFor,
  };
  return {
    loadSuite: async ({ source, overrides }, cwd) =>
      applySuiteOverrides(
        await loadSuite(BUILTIN_SUITE.test(source) ? source : path.resolve(cwd, source)),
        overrides,
      ),
    fingerprint: (request) => runnerFingerprint({ ...request, exec: deps.exec, env: deps.env, driverFor }),
    async run(request) {
      const arms: ArmSource[] = [proxyArm(request.proxy, request.outDir)];
      if (request.base) arms.push(baseArm(request.proxy, request.base));
      const outcome = await runGate(
        {
          ...gateOptions(request),
          arms,
          reference: request.plan,
          ...(request.shard ? { shard: request.shard } : {}),
        },
        engineDeps,
      );
      return { ...outcome, comparison: viewOf(outcome) };
    },
    async merge(request) {
      const outcome = await mergeShards(
        request.dirs,
        request.outDir,
        request.plan ?? undefined,
        request.recordedBaseline ?? undefined,
      );
      return { ...outcome, comparison: viewOf(outcome) };
    },
    calibrate: (request) => calibrateProxy(request, engineDeps),
  };
}

/** mode calibrate: the proxy under test against its twin (src/gate/calibrate.ts). */
async function calibrateProxy(request: CalibrateRequest, engineDeps: EngineDeps): Promise<CalibrateOutcome> {
  const { outcome, text } = await calibrate(
    {
      ...gateOptions(request),
      proxy: proxyArm(request.proxy, request.outDir),
      twin: twinArm(request.proxy, request.outDir),
      targetPct: request.targetPct,
    },
    engineDeps,
  );
  return { ...outcome, text };
}

/** What every run of the Action asks of the gate, from its inputs. */
function gateOptions(request: Omit<CalibrateRequest, 'targetPct'>) {
  return {
    mysql: request.mysql,
    suite: request.suite,
    outDir: request.outDir,
    repoRoot: request.proxy.cwd,
    proxyEnv: request.proxy.passEnv,
    ...(request.budgetMinutes !== null ? { budgetMinutes: request.budgetMinutes } : {}),
    measure: request.measure,
  };
}

/** A number the artifact can carry (JSON has no Infinity; the artifact bounds magnitudes). */
function bounded(v: number | null): number | null {
  return v !== null && Number.isFinite(v) && Math.abs(v) <= 1e12 ? v : null;
}

function viewOf(outcome: GateOutcome): ComparisonView | null {
  return outcome.comparison ? comparisonView(outcome.comparison, outcome.verdictMarkdown!) : null;
}

/** The verdict (its markdown as the gate rendered it), the structured results, one annotation per regressed workload. */
export function comparisonView(comparison: Comparison, markdown: string): ComparisonView {
  return {
    verdict: comparison.verdict,
    comparedWith: comparison.mode === 'baseline' ? 'baseline' : 'base-ref',
    summaryLine: comparison.summaryLine,
    markdown,
    warnings: comparison.warnings,
    workloads: comparison.workloads.map((w) => ({
      id: w.id,
      threads: w.threads,
      verdict: w.verdict,
      metrics: w.metrics
        .filter((m) => m.policy === 'gate')
        .map((m) => ({
          metric: m.metric,
          variant: m.variant,
          verdict: m.verdict,
          reference: bounded(m.baselineMedian),
          current: bounded(m.currentMedian),
          delta: bounded(m.delta),
          ciLow: bounded(m.ciLow),
          ciHigh: bounded(m.ciHigh),
        })),
    })),
    regressions: comparison.workloads
      .filter((w) => w.verdict === 'regressed')
      .map((w) => ({
        workload: w.id,
        message:
          `${w.title} (${w.threads} threads): ` +
          w.metrics
            .filter((m) => m.verdict === 'regressed' && m.policy === 'gate')
            .map((m) => {
              const unit = m.scale === 'relative' ? '%' : m.scale === 'points' ? ' pts' : '';
              const ci =
                m.ciLow !== null && m.ciHigh !== null
                  ? ` (CI ${signedChange(m.ciLow, unit)} … ${signedChange(m.ciHigh, unit)})`
                  : '';
              return `${m.label} ${formatDelta(m)}${ci}`;
            })
            .join(', '),
      })),
  };
}

export function realVerdicts(): Verdicts {
  return {
    loadBaseline: (file) => loadBaseline(file),
    async writeBaseline(results, file, meta) {
      await writeBaseline(file, baselineFromResults(results, meta));
    },
  };
}
