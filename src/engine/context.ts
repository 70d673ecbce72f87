import { applySuiteOverrides } from '../suite/overrides.ts';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { InfrastructureError } from '../util/errors.ts';
import type { Driver, DriverDetection } from '../drivers/types.ts';
import type { MysqlConnection } from '../mysql/index.ts';
import type { Measure } from '../model/channel.ts';
import type {
  Arm,
  Environment,
  Results,
  ShardRecord,
  WorkloadResult,
  WorkloadWork,
} from '../results/schema.ts';
import type { DriverName, Suite } from '../suite/schema.ts';
import type { Exec } from '../util/exec.ts';
import type { detectCallgrind } from '../work/valgrind.ts';
import type { ArmSource, ProxyArmSpec } from './arms.ts';
import { CleanupStack } from '../harness/cleanup.ts';
import { PhaseRecorder } from '../harness/phases.ts';
import { procAvailable, realProcFs, type ProcFs } from '../harness/procfs.ts';
import { realFetcher, type Fetcher } from '../harness/prometheus.ts';
import type { ProgressSink } from '../harness/progress.ts';
import type { ProxyProcess } from '../harness/proxyProcess.ts';

/** What one benchmark run needs, what it accumulates, and how its steps reach each other. */

export type Target = MysqlConnection & { database: string; tls?: { filesDir: string } };

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
  /** When this run is one shard of a suite: recorded in results.json (src/gate/shard.ts). */
  shardRecord?: ShardRecord;
}

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
}

/** An arm as the time channel measures it: direct MySQL, or a started proxy. */
export interface LiveArm {
  record: Arm;
  target: Target;
  spec?: ProxyArmSpec;
  process?: ProxyProcess;
  trafficCheck: boolean;
}

export type Detections = Map<DriverName, DriverDetection>;

export interface RunContext {
  options: RunOptions;
  deps: EngineDeps;
  outDir: string;
  logsDir: string;
  cleanup: CleanupStack;
  fetcher: Fetcher;
  procFs: ProcFs;
  hasProc: boolean;
  /** The unit of /proc's CPU times (sysconf(_SC_CLK_TCK)). */
  ticksPerSecond: number;
  startedMs: number;
  /** The suite as run (rounds and duration overrides applied): results.json records this one. */
  suite: Suite;
  /** `both` narrows to `time` when valgrind turns out to be missing. */
  channels: { measure: Measure; time: boolean };
  warnings: string[];
  workloads: WorkloadResult[];
  liveArms: LiveArm[];
  /** Values no output may show (passwords), removed from commands, configs and errors. */
  secrets: string[];
  /** The work channel's counts by workload id, attached to the workload results. */
  work: Map<string, WorkloadWork>;
  environment?: Environment;
  git: Results['git'];
  /** Wall time of each step, for results.json's phases and the report's "Where the time went". */
  phases: PhaseRecorder;
}

export function createContext(options: RunOptions, deps: EngineDeps): RunContext {
  const outDir = path.resolve(options.outDir);
  const logsDir = path.join(outDir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const procFs = deps.procFs ?? realProcFs;
  return {
    options,
    deps,
    outDir,
    logsDir,
    cleanup: new CleanupStack(),
    fetcher: deps.fetcher ?? realFetcher,
    procFs,
    hasProc: procAvailable(procFs),
    ticksPerSecond: 100,
    startedMs: deps.now(),
    // What was actually run (rounds and duration given to the run applied), for results.json.
    suite: applySuiteOverrides(options.suite, {
      thresholds: {},
      rounds: options.rounds,
      durationSec: options.durationSec,
    }),
    channels: { measure: options.measure ?? 'time', time: options.measure !== 'work' },
    warnings: [],
    workloads: [],
    liveArms: [],
    secrets: [],
    work: new Map(),
    git: { commit: null, ref: null },
    phases: new PhaseRecorder(deps.now),
  };
}

export function throwIfAborted(ctx: RunContext): void {
  const signal = ctx.options.signal;
  if (signal?.aborted) throw new InfrastructureError(`interrupted (${String(signal.reason ?? 'aborted')})`);
}
