import type { Environment, WorkloadResult } from '../results/schema.ts';
import type { Suite, Workload } from '../suite/schema.ts';

/** Below this, many client plus backend sockets can run out of descriptors (the performance-testing guide, docs/PERF.md, sets 65535). */
export const MIN_NOFILE = 4096;
/** Below this, bursts of connects are dropped from the accept queue (the performance-testing guide sets 4096). */
export const MIN_SOMAXCONN = 1024;
/** The harness's own share of a core above which its CPU use may disturb the measurement. */
export const MAX_HARNESS_CPU_SHARE = 0.05;

/** Warnings that hold before anything runs: limits of the machine against the suite's needs. */
export function environmentWarnings(env: Environment, suite: Suite): string[] {
  const warnings: string[] = [];
  if (env.ulimitNofile !== null && env.ulimitNofile < MIN_NOFILE) {
    warnings.push(
      `Low open-file limit: ulimit -n is ${env.ulimitNofile} (< ${MIN_NOFILE}); a proxy holds two sockets per client. Raise it with \`ulimit -n 65535\` (docs/PERF.md, System Tuning).`,
    );
  }
  if (env.somaxconn !== null && env.somaxconn < MIN_SOMAXCONN) {
    warnings.push(
      `Small accept queue: net.core.somaxconn is ${env.somaxconn} (< ${MIN_SOMAXCONN}); connection bursts may be dropped. \`sysctl -w net.core.somaxconn=4096\`.`,
    );
  }
  const crowded = suite.workloads.filter((w) => w.threads > env.cores);
  if (env.cores > 0 && crowded.length > 0) {
    warnings.push(
      `More client threads than cores (${env.cores}) in ${crowded.map((w) => `${w.id} (${w.threads})`).join(', ')}: the load generator, MySQL and the proxy share the CPU, so absolute numbers are machine-bound; compare the same-run ratios (overhead, CPU µs/query).`,
    );
  }
  return warnings;
}

/** Warnings from what a workload's runs measured. */
export function sampleWarnings(workload: Workload, result: WorkloadResult): string[] {
  const warnings: string[] = [];
  const withErrors = result.samples.filter((s) => s.metrics.errors > 0);
  if (withErrors.length > 0) {
    const detail = withErrors.map((s) => `${s.arm} round ${s.round + 1}: ${s.metrics.errors}`).join(', ');
    warnings.push(
      `Errors during ${workload.id} (${detail})${workload.allowErrors ? ' — allowed by the suite' : ''}.`,
    );
  }
  // The builtin driver runs in this process: its CPU is the load generator's, reported separately.
  if (workload.driver !== 'builtin') {
    const shares = result.samples.map((s) => s.harnessCpuShare).filter((v): v is number => v !== null);
    const worst = Math.max(0, ...shares);
    if (worst > MAX_HARNESS_CPU_SHARE) {
      warnings.push(
        `The harness itself used up to ${(100 * worst).toFixed(1)}% of a core during ${workload.id} runs (> ${100 * MAX_HARNESS_CPU_SHARE}%): it may have competed with the proxy.`,
      );
    }
  }
  return warnings;
}
