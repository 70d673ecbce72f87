import { InfrastructureError, errorMessage } from '../util/errors.ts';
import type { DriverRun } from '../drivers/types.ts';
import type { ProxyUsage, RoundSample } from '../results/schema.ts';
import type { Exec } from '../util/exec.ts';
import type { LiveArm } from './context.ts';
import { RssSampler, resetPeakRss, treeCpuTicks, treeRssMb, type ProcFs } from '../harness/procfs.ts';
import {
  counterDeltas,
  scrapeCounters,
  trafficCheck,
  type Fetcher,
  type MetricSeries,
} from '../harness/prometheus.ts';
import { runWhileAlive } from '../harness/proxyProcess.ts';

/** One timed run of one arm, and what is read around it: /proc, the proxy's metrics, the harness. */

/** Runs fn while watching the arm's process: a proxy that dies fails the run with its log tail. */
export function guardedRun(
  arm: LiveArm,
  fn: (signal: AbortSignal) => Promise<DriverRun>,
  outer: AbortSignal | undefined,
  when: string,
): Promise<DriverRun> {
  return runWhileAlive(arm.process, fn, outer, when);
}

export interface MeasureInput {
  arm: LiveArm;
  round: number;
  position: number;
  now: () => number;
  procFs: ProcFs;
  hasProc: boolean;
  ticksPerSecond: number;
  fetcher: Fetcher;
  signal?: AbortSignal;
  run: (signal: AbortSignal) => Promise<DriverRun>;
}

/** sysconf(_SC_CLK_TCK), the unit of /proc's CPU times: 100 on mainstream Linux. */
export async function clockTicksPerSecond(exec: Exec): Promise<number> {
  const result = await exec('getconf', ['CLK_TCK']).catch(() => null);
  const ticks = Number(result?.stdout.trim());
  return result?.exitCode === 0 && Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
}

/**
 * One measured run of one arm: proxy CPU from /proc at start and end (no polling), peak RSS via a
 * reset VmHWM, metrics scraped before and after, the harness's own CPU share over the window.
 */
export async function measureRun(input: MeasureInput): Promise<RoundSample> {
  const { arm } = input;
  const pid = arm.process?.pid;
  const metricsUrl = arm.spec?.metricsUrl;
  const startedAt = new Date(input.now()).toISOString();
  let before: MetricSeries | undefined;
  if (metricsUrl) before = await scrapeOrFail(arm, metricsUrl, input.fetcher, 'before');
  const watch = pid !== undefined && input.hasProc ? watchProcess(pid, input.procFs) : undefined;
  const harnessBefore = process.cpuUsage();
  const wallBefore = performance.now();
  let run: DriverRun;
  try {
    run = await guardedRun(
      arm,
      input.run,
      input.signal,
      `during ${arm.record.name} round ${input.round + 1}`,
    );
  } finally {
    watch?.sampler?.stop();
  }
  const wallUs = (performance.now() - wallBefore) * 1000;
  const harness = process.cpuUsage(harnessBefore);
  const harnessCpuShare = wallUs > 0 ? (harness.user + harness.system) / wallUs : null;
  const proxy = pid === undefined ? null : await proxyUsage(input, pid, watch, run.metrics.queries, before);
  return {
    arm: arm.record.name,
    round: input.round,
    position: input.position,
    startedAt,
    metrics: run.metrics,
    proxy,
    loadGeneratorCpuUsPerQuery: run.loadGeneratorCpuUsPerQuery,
    harnessCpuShare,
  };
}

/** What is read of the proxy's process before the run: its CPU, and its RSS when VmHWM cannot be reset. */
interface ProcessWatch {
  cpuBefore: number;
  sampler?: RssSampler;
}

function watchProcess(pid: number, procFs: ProcFs): ProcessWatch {
  let sampler: RssSampler | undefined;
  if (!resetPeakRss(pid, procFs)) {
    sampler = new RssSampler(pid, procFs);
    sampler.start();
  }
  return { cpuBefore: treeCpuTicks(pid, procFs), ...(sampler ? { sampler } : {}) };
}

/** The proxy's CPU and peak RSS over the run, and its metrics' deltas when it exports them. */
async function proxyUsage(
  input: MeasureInput,
  pid: number,
  watch: ProcessWatch | undefined,
  queries: number,
  before: MetricSeries | undefined,
): Promise<ProxyUsage> {
  const cpuSeconds = watch
    ? Math.max(0, treeCpuTicks(pid, input.procFs) - watch.cpuBefore) / input.ticksPerSecond
    : 0;
  const peakRssMb = !watch ? 0 : watch.sampler ? watch.sampler.stop() : treeRssMb(pid, 'VmHWM', input.procFs);
  const proxy: ProxyUsage = {
    cpuSeconds,
    cpuUsPerQuery: watch && queries > 0 ? (cpuSeconds * 1e6) / queries : null,
    peakRssMb,
  };
  const metricsUrl = input.arm.spec?.metricsUrl;
  if (metricsUrl && before) {
    const after = await scrapeOrFail(input.arm, metricsUrl, input.fetcher, 'after');
    proxy.metricsDelta = counterDeltas(before, after);
    const check = trafficCheck(proxy.metricsDelta, queries);
    if (check) proxy.trafficCheck = check;
  }
  return proxy;
}

async function scrapeOrFail(
  arm: LiveArm,
  url: string,
  fetcher: Fetcher,
  when: string,
): Promise<MetricSeries> {
  try {
    return await scrapeCounters(url, fetcher);
  } catch (error) {
    // A proxy that died fails the scrape a moment before its launcher reports the exit (a shell
    // wrapper reaps it first): give the exit a second to show, so the error names the real cause.
    const proc = arm.process;
    if (proc && !proc.exited) {
      await Promise.race([proc.waitExit(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    }
    if (proc?.exited) throw proc.deathError('while its metrics were scraped');
    throw new InfrastructureError(
      `arm "${arm.record.name}": scraping ${url} ${when} the run failed: ${errorMessage(error)}`,
    );
  }
}
