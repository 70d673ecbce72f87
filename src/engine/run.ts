import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AthenaBenchError, InfrastructureError, errorMessage } from '../errors.ts';
import type { Driver, DriverRun } from '../drivers/types.ts';
import { startLocalServer, waitForServer, redact, type MysqlConnection } from '../mysql/index.ts';
import {
  RESULTS_SCHEMA_VERSION,
  ResultsSchema,
  type Arm,
  type Environment,
  type ProxyUsage,
  type Results,
  type RoundSample,
  type WorkloadResult,
  type WorkloadWork,
} from '../results/schema.ts';
import type { DriverName, Suite, Workload } from '../suite/schema.ts';
import type { Exec } from '../util/exec.ts';
import { canConnect, findFreePort } from '../util/net.ts';
import { renderMeasurementReport } from '../report/markdown.ts';
import type { ArmSource, ProxyArmSpec } from './arms.ts';
import { armEnvironment } from './armEnvironment.ts';
import { CleanupStack } from './cleanup.ts';
import { collectEnvironment, gitInfo } from './environment.ts';
import { armOrder } from './order.ts';
import {
  procAvailable,
  realProcFs,
  resetPeakRss,
  RssSampler,
  treeCpuTicks,
  treeRssMb,
  type ProcFs,
} from './procfs.ts';
import {
  counterDeltas,
  realFetcher,
  scrapeCounters,
  trafficCheck,
  type Fetcher,
  type MetricSeries,
} from './prometheus.ts';
import { ProxyProcess, runBuild, runWhileAlive, waitUntilReady } from './proxyProcess.ts';
import type { ProgressSink } from './progress.ts';
import { TOOL_VERSION } from './version.ts';
import { measureWork, type WorkArmInput } from '../work/channel.ts';
import { detectCallgrind } from '../work/valgrind.ts';
import { environmentWarnings, sampleWarnings } from './warnings.ts';

export type { ProxyArmSpec, ArmSource, ArmFactory, ArmContext } from './arms.ts';
export { defaultProxyArm, athenaArm, haproxyArm, baseRefArm } from './arms.ts';

export type Target = MysqlConnection & { database: string };

export interface RunOptions {
  /** An existing server; absent: a throwaway local one (startLocalServer). */
  mysql?: Target;
  /** How long an existing server may take to accept a connection (default 60 s). */
  mysqlReadyTimeoutMs?: number;
  suite: Suite;
  /** The proxy under test first; 'direct' is always added as the control. */
  arms: ArmSource[];
  rounds?: number;
  durationSec?: number;
  budgetMinutes?: number;
  outDir: string;
  /** Verdict hook: after a workload's planned rounds, how many more rounds to run (0 = none). */
  moreRounds?: (workload: WorkloadResult, results: Results, remainingBudgetSec: number) => number;
  /** Aborting stops the current run, cleans everything up and fails the benchmark. */
  signal?: AbortSignal;
  /** Switches the traffic check off for every arm (CLI --no-traffic-check). */
  trafficCheck?: boolean;
  buildTimeoutMs?: number;
  /** Where git information is read from (default: the current directory). */
  repoRoot?: string;
  /**
   * Which channels to measure: `time` (TPS, latency, CPU time per query: interleaved rounds),
   * `work` (instructions, syscalls and MySQL round trips per query under valgrind: src/work), or
   * `both` (default `time`). `both` falls back to time with a warning when valgrind is missing.
   */
  measure?: Measure;
  /** Environment variables passed from deps.env to the arms' build and start, beyond the allow-list. */
  proxyEnv?: readonly string[];
}

export type Measure = 'time' | 'work' | 'both';

export interface EngineDeps {
  exec: Exec;
  now: () => number;
  log: (line: string) => void;
  progress: ProgressSink;
  env: NodeJS.ProcessEnv;
  /** The driver of a workload; src/drivers' registry in production, a fake in unit tests. */
  driverFor: (name: DriverName) => Driver;
  fetcher?: Fetcher;
  procFs?: ProcFs;
  /** Finds valgrind for the work channel (tests pass their own). */
  detectCallgrind?: typeof detectCallgrind;
}

export interface RunOutcome {
  results: Results;
  resultsPath: string;
  reportPath: string;
  reportMarkdown: string;
}

const DEFAULT_READY_TIMEOUT_MS = 30_000;
const DEFAULT_BUILD_TIMEOUT_MS = 10 * 60_000;
const STOP_GRACE_MS = 10_000;
/** The least time a proxy under valgrind gets to answer its first handshake. */
const WORK_READY_TIMEOUT_MS = 120_000;
/** Time a run needs beyond its measured duration (connect, driver start-up, scrapes). */
const RUN_OVERHEAD_SEC = 1.5;

interface LiveArm {
  record: Arm;
  target: Target;
  spec?: ProxyArmSpec;
  process?: ProxyProcess;
  trafficCheck: boolean;
}

/**
 * The expected measured seconds of one run of a workload, for progress and budget estimates:
 * mysqlslap runs until its iterations end, so its runs so far (else 5 s) stand in for a duration.
 */
function nominalSeconds(
  workload: Workload,
  durationSec: number | undefined,
  measured?: WorkloadResult,
): number {
  if (workload.driver !== 'mysqlslap') return durationSec ?? workload.options.timeSec;
  const seen = measured?.samples.map((s) => s.metrics.durationSec) ?? [];
  return seen.length > 0 ? seen.reduce((a, b) => a + b, 0) / seen.length : 5;
}

/**
 * Runs a suite against direct MySQL and every arm, interleaved round by round, and writes
 * results.json and report.md. Failures (MySQL, a build, a proxy that is not ready or dies, a
 * driver, the traffic check, an interrupt) write results.json with status 'failed' and throw.
 */
export async function runBenchmark(options: RunOptions, deps: EngineDeps): Promise<RunOutcome> {
  const outDir = path.resolve(options.outDir);
  const logsDir = path.join(outDir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const cleanup = new CleanupStack();
  const fetcher = deps.fetcher ?? realFetcher;
  const procFs = deps.procFs ?? realProcFs;
  const hasProc = procAvailable(procFs);
  const ticksPerSecond = hasProc ? await clockTicksPerSecond(deps.exec) : 100;
  const startedMs = deps.now();
  const startedAt = new Date(startedMs).toISOString();
  const warnings: string[] = [];
  const workloads: WorkloadResult[] = [];
  const liveArms: LiveArm[] = [];
  const secrets: string[] = [];
  let environment: Environment | undefined;
  let git: Results['git'] = { commit: null, ref: null };
  let failure: unknown;
  const signal = options.signal;
  const throwIfAborted = () => {
    if (signal?.aborted) throw new InfrastructureError(`interrupted (${String(signal.reason ?? 'aborted')})`);
  };

  // What was actually run (CLI overrides of rounds and duration applied), so a results file alone
  // says how it was measured.
  const effectiveSuite = applyOverrides(options.suite, options.rounds, options.durationSec);
  // What the run measures; `both` narrows to `time` when valgrind turns out to be missing.
  const channels = { measure: options.measure ?? 'time', time: options.measure !== 'work' };
  const workByWorkload = new Map<string, WorkloadWork>();
  const buildResults = (status: Results['status'], failureMessage: string | null): Results => ({
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: { name: 'athena-bench', version: TOOL_VERSION },
    startedAt,
    finishedAt: new Date(deps.now()).toISOString(),
    git,
    status,
    failure: failureMessage,
    suite: effectiveSuite,
    measure: channels.measure,
    arms:
      liveArms.length > 0
        ? liveArms.map((a) => a.record)
        : [
            {
              name: 'direct',
              role: 'direct',
              host: options.mysql?.host ?? '127.0.0.1',
              port: options.mysql?.port ?? 0,
            },
          ],
    workloads,
    environment: environment ?? placeholderEnvironment(),
    warnings: [...warnings],
  });

  try {
    throwIfAborted();
    git = await gitInfo(deps.exec, options.repoRoot ?? process.cwd(), deps.env);

    // 1. MySQL: the one given, or a throwaway server.
    let mysql: Target;
    let mysqlVersion: string;
    if (options.mysql) {
      mysql = options.mysql;
      deps.progress.note(`waiting for MySQL at ${mysql.host}:${mysql.port}…`);
      mysqlVersion = (await waitForServer(mysql, options.mysqlReadyTimeoutMs ?? 60_000)).version;
    } else {
      deps.progress.note('starting a throwaway MySQL server…');
      const server = await startLocalServer();
      cleanup.add('stop the throwaway MySQL server', () => server.stop());
      mysql = {
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        database: server.database,
      };
      mysqlVersion = server.version;
    }
    secrets.push(mysql.password);
    throwIfAborted();
    liveArms.push({
      record: { name: 'direct', role: 'direct', host: mysql.host, port: mysql.port },
      target: mysql,
      trafficCheck: false,
    });

    // 2. Drivers: a missing binary skips its workloads, with the install command.
    const detections = new Map<DriverName, Awaited<ReturnType<Driver['detect']>>>();
    for (const workload of options.suite.workloads) {
      if (!detections.has(workload.driver)) {
        detections.set(workload.driver, await deps.driverFor(workload.driver).detect(deps.exec));
      }
    }
    // Nothing would be measured: never let that pass (the skipped-workload warnings are for suites
    // where something still runs).
    const missing = options.suite.workloads.filter((w) => !detections.get(w.driver)?.available);
    if (missing.length === options.suite.workloads.length) {
      const reasons = [...new Set(missing.map((w) => detections.get(w.driver)))].map((d) =>
        d && !d.available ? `${d.reason} Install: ${d.installHint}` : 'driver not detected',
      );
      throw new InfrastructureError(`no workload of the suite can run: ${reasons.join('; ')}`);
    }
    const version = (name: DriverName) => {
      const d = detections.get(name);
      return d?.available ? d.version : null;
    };
    const callgrind = await workChannelTool(channels, options.suite, deps, warnings);
    environment = await collectEnvironment({
      mysqlVersion,
      sysbenchVersion: version('sysbench'),
      mysqlslapVersion: version('mysqlslap'),
      valgrindVersion: callgrind?.version ?? null,
      env: deps.env,
      exec: deps.exec,
    });
    warnings.push(...environmentWarnings(environment, options.suite));
    if (!hasProc && options.arms.length > 0) {
      warnings.push("No /proc on this system: the proxies' CPU µs/query and peak RSS were not measured.");
    }

    // 3. Arms: resolve, write their files, build, start, wait until ready.
    const specs: ProxyArmSpec[] = [];
    for (const source of options.arms) {
      throwIfAborted();
      const spec =
        typeof source === 'function'
          ? await source({
              mysql,
              outDir,
              exec: deps.exec,
              allocatePort: () => findFreePort(),
              addCleanup: (what, fn) => cleanup.add(what, fn),
            })
          : source;
      if (spec.name === 'direct' || specs.some((s) => s.name === spec.name)) {
        throw new InfrastructureError(`arm name "${spec.name}" is used twice (or is the reserved "direct")`);
      }
      specs.push(spec);
      for (const [key, value] of Object.entries(spec.env ?? {})) {
        if (/PASSWORD|SECRET|TOKEN/i.test(key)) secrets.push(value);
      }
    }
    // An allow-list, not deps.env: the arms run the code under test (armEnvironment.ts).
    const armEnv = (spec: ProxyArmSpec): NodeJS.ProcessEnv =>
      armEnvironment(deps.env, options.proxyEnv ?? [], {
        ATHENA_BENCH_MYSQL_HOST: mysql.host,
        ATHENA_BENCH_MYSQL_PORT: String(mysql.port),
        ATHENA_BENCH_MYSQL_USER: mysql.user,
        ATHENA_BENCH_MYSQL_PASSWORD: mysql.password,
        ATHENA_BENCH_MYSQL_DATABASE: mysql.database,
        ATHENA_BENCH_PROXY_PORT: String(spec.port),
        ATHENA_BENCH_ARM: spec.name,
        ATHENA_BENCH_OUT_DIR: outDir,
        ...spec.env,
      });
    for (const spec of specs) {
      for (const file of spec.files ?? []) {
        mkdirSync(path.dirname(file.path), { recursive: true });
        writeFileSync(file.path, file.contents);
      }
      if (spec.build) {
        throwIfAborted();
        deps.progress.note(`building arm "${spec.name}": ${spec.build}`);
        await runBuild(spec.name, spec.build, {
          exec: deps.exec,
          cwd: spec.cwd,
          env: armEnv(spec),
          logPath: path.join(logsDir, `${spec.name}-build.log`),
          timeoutMs: options.buildTimeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS,
          signal,
        });
      }
    }
    for (const spec of specs) {
      if (channels.time) continue;
      // Measured only through the work channel: recorded all the same, so the verdict finds them.
      liveArms.push({ record: armRecord(spec, secrets), target: mysql, spec, trafficCheck: false });
    }
    if (callgrind) {
      throwIfAborted();
      const runnable = options.suite.workloads.filter((w) => detections.get(w.driver)?.available);
      const measured = await measureWork(
        {
          arms: specs.map((spec) => workArmInput(spec, armEnv(spec), options.trafficCheck !== false)),
          workloads: runnable,
          mysql,
          settings: options.suite.work,
          outDir,
          valgrind: callgrind.valgrind,
          callgrindControl: callgrind.control,
          ...(signal ? { signal } : {}),
        },
        {
          exec: deps.exec,
          driverFor: deps.driverFor,
          progress: deps.progress,
          procFs,
          fetcher,
          now: deps.now,
          cleanup,
        },
      );
      for (const [id, work] of measured) workByWorkload.set(id, work);
    }
    for (const spec of specs) {
      if (!channels.time) break;
      throwIfAborted();
      const host = spec.host ?? '127.0.0.1';
      // Something already answering there (MySQL itself, a proxy left over) would pass the ready
      // check and be measured in the proxy's place.
      if (await canConnect(host, spec.port, 1000)) {
        throw new InfrastructureError(
          `arm "${spec.name}": ${host}:${spec.port} is already in use before the proxy started; give the port the proxy will listen on (--proxy-port), not one another process holds`,
        );
      }
      deps.progress.note(
        `starting arm "${spec.name}" on ${host}:${spec.port}: ${redact(spec.start, secrets)}`,
      );
      const proc = ProxyProcess.start(spec.name, spec.start, {
        cwd: spec.cwd,
        env: armEnv(spec),
        logPath: path.join(logsDir, `${spec.name}.log`),
      });
      cleanup.add(`stop arm "${spec.name}"`, () => proc.stop(STOP_GRACE_MS));
      liveArms.push({
        record: armRecord(spec, secrets),
        target: { ...mysql, host, port: spec.port },
        spec,
        process: proc,
        trafficCheck: spec.trafficCheck && options.trafficCheck !== false,
      });
      await waitUntilReady(proc, {
        host,
        port: spec.port,
        metricsUrl: spec.metricsUrl,
        timeoutMs: spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
        fetcher,
        signal,
      });
    }
    for (const arm of liveArms) {
      if (arm.trafficCheck && !arm.spec?.metricsUrl) {
        warnings.push(`Arm "${arm.record.name}": no metrics URL, so the traffic check cannot run.`);
      }
    }

    // 4. Workloads, each: prepare, warmup, planned rounds (interleaved), adaptive rounds, cleanup.
    // The budget covers the whole run, set-up (server, builds) included.
    const budgetMinutes = options.budgetMinutes ?? options.suite.budgetMinutes;
    const budgetDeadline = budgetMinutes !== undefined ? startedMs + budgetMinutes * 60_000 : undefined;
    const plannedRounds = options.rounds ?? options.suite.rounds;
    // A safety cap for the verdict hook, which applies its own (the same default).
    const maxRounds = Math.max(plannedRounds, options.suite.maxRounds ?? Math.max(10, 2 * plannedRounds));
    const runnable = options.suite.workloads.filter((w) => detections.get(w.driver)?.available);
    const runSeconds = (w: Workload) =>
      nominalSeconds(
        w,
        options.durationSec,
        workloads.find((r) => r.id === w.id),
      ) + RUN_OVERHEAD_SEC;
    const plannedSecondsFrom = (index: number) =>
      runnable
        .slice(index)
        .reduce((sum, w) => sum + liveArms.length * (plannedRounds * runSeconds(w) + w.warmupSec), 0);

    for (const workload of options.suite.workloads) {
      const detection = detections.get(workload.driver);
      if (!detection?.available) {
        const reason = detection
          ? `${detection.reason} Install: ${detection.installHint}`
          : 'driver not detected';
        workloads.push({
          id: workload.id,
          title: workload.title,
          driver: workload.driver,
          threads: workload.threads,
          skipped: reason,
          samples: [],
          work: null,
        });
        warnings.push(`Skipped ${workload.id}: ${reason}`);
        deps.log(`warning: skipped ${workload.id}: ${reason}`);
        continue;
      }
      throwIfAborted();
      const driver = deps.driverFor(workload.driver);
      const result: WorkloadResult = {
        id: workload.id,
        title: workload.title,
        driver: workload.driver,
        threads: workload.threads,
        skipped: null,
        samples: [],
        work: workByWorkload.get(workload.id) ?? null,
      };
      workloads.push(result);
      if (!channels.time) continue;
      const direct = { target: mysql, exec: deps.exec, signal };
      deps.progress.note(`${workload.id}: preparing the data set through direct MySQL`);
      // Workloads may share table names (sysbench's sbtest*): each one's data is dropped before the
      // next is prepared; the stack entry covers the paths that leave this loop by an error.
      let cleaned = false;
      const cleanWorkload = async () => {
        if (cleaned) return;
        cleaned = true;
        await driver.cleanup(workload, { target: mysql, exec: deps.exec });
      };
      cleanup.add(`clean up ${workload.id}`, cleanWorkload);
      await driver.prepare(workload, direct);
      try {
        // The engine warms every arm once (pools, JIT, caches) and measures runs without warmup, so
        // the proxy's CPU window holds exactly the queries the driver counts.
        const measured: Workload = { ...workload, warmupSec: 0 };
        const durationSec = options.durationSec;
        const remainingEstimate = () => {
          const index = runnable.indexOf(workload);
          return plannedSecondsFrom(index + 1);
        };
        if (workload.warmupSec > 0) {
          for (const arm of liveArms) {
            throwIfAborted();
            deps.progress.runStarted({
              workload: workload.id,
              arm: arm.record.name,
              round: 0,
              rounds: plannedRounds,
              durationSec: workload.warmupSec,
            });
            await guardedRun(
              arm,
              () =>
                driver.run(
                  warmupWorkload(measured),
                  { target: arm.target, exec: deps.exec, signal },
                  { durationSec: workload.warmupSec },
                ),
              signal,
              'during the warmup',
            );
            deps.progress.runFinished('warmed up');
          }
        }
        const runRound = async (round: number, roundsShown: number) => {
          const order = armOrder(liveArms, round);
          for (const [position, arm] of order.entries()) {
            throwIfAborted();
            const left =
              (roundsShown - round) * liveArms.length * runSeconds(workload) -
              position * runSeconds(workload) +
              remainingEstimate();
            deps.progress.runStarted({
              workload: workload.id,
              arm: arm.record.name,
              round: round + 1,
              rounds: roundsShown,
              durationSec: nominalSeconds(workload, durationSec, result),
              remainingSec: left,
            });
            const sample = await measureRun({
              arm,
              round,
              position,
              now: deps.now,
              procFs,
              hasProc,
              ticksPerSecond,
              fetcher,
              signal,
              run: (ctxSignal) =>
                driver.run(
                  measured,
                  {
                    target: arm.target,
                    exec: deps.exec,
                    signal: ctxSignal,
                    onProgress: (p) => deps.progress.runProgress(p),
                  },
                  durationSec !== undefined ? { durationSec } : {},
                ),
            });
            result.samples.push(sample);
            const m = sample.metrics;
            deps.progress.runFinished(
              `${m.tps.toFixed(1)} TPS, ${m.qps.toFixed(1)} QPS, p95 ${m.latencyMs.p95 ?? '—'} ms` +
                (sample.proxy?.cpuUsPerQuery != null
                  ? `, ${sample.proxy.cpuUsPerQuery.toFixed(1)} µs CPU/query`
                  : '') +
                (m.errors > 0 ? `, ${m.errors} errors` : ''),
            );
            const tc = sample.proxy?.trafficCheck;
            if (arm.trafficCheck && tc && !tc.ok) {
              throw new InfrastructureError(
                `arm "${arm.record.name}", ${workload.id} round ${round + 1}: traffic check failed: the proxy saw ${tc.observedQueries} of ${tc.expectedQueries} queries — the benchmark did not go through it ` +
                  `(athena_queries_total from ${arm.spec?.metricsUrl ?? '?'} must grow by at least 95% of the driver's queries; pass --no-traffic-check for a proxy whose metrics do not count queries)`,
              );
            }
          }
        };
        for (let round = 0; round < plannedRounds; round++) await runRound(round, plannedRounds);
        let rounds = plannedRounds;
        if (options.moreRounds) {
          while (rounds < maxRounds) {
            const roundSec = liveArms.length * runSeconds(workload);
            const remainingSec =
              budgetDeadline === undefined
                ? Number.POSITIVE_INFINITY
                : (budgetDeadline - deps.now()) / 1000 - remainingEstimate();
            if (remainingSec < roundSec) {
              if (budgetDeadline !== undefined) deps.log(`${workload.id}: no budget left for more rounds`);
              break;
            }
            const wanted = options.moreRounds(result, buildResults('complete', null), remainingSec);
            if (!(wanted > 0)) break;
            const extra = Math.min(
              Math.ceil(wanted),
              maxRounds - rounds,
              Math.floor(remainingSec / roundSec),
            );
            deps.progress.note(`${workload.id}: ${extra} more round(s) requested by the verdict`);
            const total = rounds + extra;
            while (rounds < total) {
              await runRound(rounds, total);
              rounds++;
            }
          }
        }
        warnings.push(...sampleWarnings(workload, result));
      } finally {
        await cleanWorkload().catch((error: unknown) =>
          warnings.push(`Cleanup of ${workload.id}: ${redact(errorMessage(error), secrets)}`),
        );
      }
    }
  } catch (error) {
    // An interrupt surfaces as whatever the aborted step threw (a killed driver…): name the cause.
    failure = signal?.aborted
      ? new InfrastructureError(`interrupted (${String(signal.reason ?? 'aborted')})`)
      : error;
  }

  const cleanupProblems = await cleanup.runAll();
  for (const problem of cleanupProblems) {
    deps.log(`warning: cleanup: ${problem}`);
    warnings.push(`Cleanup: ${redact(problem, secrets)}`);
  }
  const failureMessage = failure === undefined ? null : redact(errorMessage(failure), secrets);
  const results = ResultsSchema.parse(
    buildResults(failure === undefined ? 'complete' : 'failed', failureMessage),
  );
  const resultsPath = path.join(outDir, 'results.json');
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  const reportMarkdown = renderMeasurementReport(results);
  const reportPath = path.join(outDir, 'report.md');
  writeFileSync(reportPath, reportMarkdown);
  if (failure !== undefined) {
    if (failure instanceof AthenaBenchError) {
      // The message may quote a proxy log or a driver's output: never let a password through.
      failure.message = failureMessage!;
      throw failure;
    }
    throw new InfrastructureError(failureMessage!, { cause: failure });
  }
  return { results, resultsPath, reportPath, reportMarkdown };
}

function armRecord(spec: ProxyArmSpec, secrets: readonly string[]): Arm {
  return {
    name: spec.name,
    role: spec.role,
    host: spec.host ?? '127.0.0.1',
    port: spec.port,
    command: redact(spec.start, secrets),
    ...(spec.recordedConfig !== undefined ? { config: redact(spec.recordedConfig, secrets) } : {}),
    ...(spec.commit !== undefined ? { commit: spec.commit } : {}),
  };
}

/** How the work channel runs an arm: its own start command for it, a longer wait (valgrind is slow). */
function workArmInput(spec: ProxyArmSpec, env: NodeJS.ProcessEnv, trafficCheck: boolean): WorkArmInput {
  return {
    name: spec.name,
    start: spec.workStart ?? spec.start,
    cwd: spec.cwd,
    env,
    host: spec.host ?? '127.0.0.1',
    port: spec.port,
    ...(spec.metricsUrl !== undefined ? { metricsUrl: spec.metricsUrl } : {}),
    trafficCheck: spec.trafficCheck && trafficCheck,
    readyTimeoutMs: Math.max(WORK_READY_TIMEOUT_MS, 4 * (spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS)),
  };
}

/**
 * callgrind when the work channel is asked for. Missing valgrind fails a `work` run (exit 3, with
 * the package to install) and turns `both` into `time` with a warning; a suite without a sysbench
 * workload has nothing the work channel can drive.
 */
async function workChannelTool(
  channels: { measure: Measure; time: boolean },
  suite: Suite,
  deps: EngineDeps,
  warnings: string[],
): Promise<{ valgrind: string; control: string; version: string } | null> {
  if (channels.measure === 'time') return null;
  const detection = await (deps.detectCallgrind ?? detectCallgrind)(deps.exec);
  const why = !detection.available
    ? `${detection.reason}. Install: ${detection.installHint}`
    : !suite.workloads.some((w) => w.driver === 'sysbench')
      ? 'the suite has no sysbench workload (the work channel drives sysbench with fixed event counts)'
      : null;
  if (why === null && detection.available) return detection;
  if (channels.measure === 'work') throw new InfrastructureError(`--measure work: ${why}`);
  const warning = `The work channel (instructions per query) did not run: ${why}. Only the time channel was measured.`;
  warnings.push(warning);
  deps.log(`warning: ${warning}`);
  channels.measure = 'time';
  return null;
}

function applyOverrides(suite: Suite, rounds: number | undefined, durationSec: number | undefined): Suite {
  return {
    ...suite,
    ...(rounds !== undefined ? { rounds } : {}),
    workloads: suite.workloads.map((w): Workload => {
      if (durationSec === undefined) return w;
      if (w.driver === 'sysbench') return { ...w, options: { ...w.options, timeSec: durationSec } };
      if (w.driver === 'builtin') return { ...w, options: { ...w.options, timeSec: durationSec } };
      return w;
    }),
  };
}

/** The warmup run of a workload: warmupSec of load (mysqlslap, which has no duration: one iteration). */
function warmupWorkload(workload: Workload): Workload {
  return workload.driver === 'mysqlslap'
    ? { ...workload, options: { ...workload.options, iterations: 1 } }
    : workload;
}

/** Runs fn while watching the arm's process: a proxy that dies fails the run with its log tail. */
function guardedRun(
  arm: LiveArm,
  fn: (signal: AbortSignal) => Promise<DriverRun>,
  outer: AbortSignal | undefined,
  when: string,
): Promise<DriverRun> {
  return runWhileAlive(arm.process, fn, outer, when);
}

interface MeasureInput {
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
async function clockTicksPerSecond(exec: Exec): Promise<number> {
  const result = await exec('getconf', ['CLK_TCK']).catch(() => null);
  const ticks = Number(result?.stdout.trim());
  return result?.exitCode === 0 && Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
}

/**
 * One measured run of one arm: proxy CPU from /proc at start and end (no polling), peak RSS via a
 * reset VmHWM, metrics scraped before and after, the harness's own CPU share over the window.
 */
async function measureRun(input: MeasureInput): Promise<RoundSample> {
  const { arm } = input;
  const pid = arm.process?.pid;
  const metricsUrl = arm.spec?.metricsUrl;
  const startedAt = new Date(input.now()).toISOString();
  let before: MetricSeries | undefined;
  if (metricsUrl) before = await scrapeOrFail(arm, metricsUrl, input.fetcher, 'before');
  let sampler: RssSampler | undefined;
  let cpuBefore = 0;
  if (pid !== undefined && input.hasProc) {
    if (!resetPeakRss(pid, input.procFs)) {
      sampler = new RssSampler(pid, input.procFs);
      sampler.start();
    }
    cpuBefore = treeCpuTicks(pid, input.procFs);
  }
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
    sampler?.stop();
  }
  const wallUs = (performance.now() - wallBefore) * 1000;
  const harness = process.cpuUsage(harnessBefore);
  const harnessCpuShare = wallUs > 0 ? (harness.user + harness.system) / wallUs : null;
  let proxy: ProxyUsage | null = null;
  if (pid !== undefined) {
    const cpuSeconds = input.hasProc
      ? Math.max(0, treeCpuTicks(pid, input.procFs) - cpuBefore) / input.ticksPerSecond
      : 0;
    const peakRssMb = !input.hasProc ? 0 : sampler ? sampler.stop() : treeRssMb(pid, 'VmHWM', input.procFs);
    const queries = run.metrics.queries;
    proxy = {
      cpuSeconds,
      cpuUsPerQuery: input.hasProc && queries > 0 ? (cpuSeconds * 1e6) / queries : null,
      peakRssMb,
    };
    if (metricsUrl && before) {
      const after = await scrapeOrFail(arm, metricsUrl, input.fetcher, 'after');
      proxy.metricsDelta = counterDeltas(before, after);
      const check = trafficCheck(proxy.metricsDelta, queries);
      if (check) proxy.trafficCheck = check;
    }
  }
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
