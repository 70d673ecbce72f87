import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { InfrastructureError } from '../util/errors.ts';
import type { Driver, DriverRun } from '../drivers/types.ts';
import type { WorkArm, WorkloadWork, WorkWindow } from '../results/schema.ts';
import { countedByWorkChannel, type Workload, type WorkSettings } from '../suite/schema.ts';
import type { Exec } from '../util/exec.ts';
import type { CleanupStack } from '../harness/cleanup.ts';
import { processTree, treeIoSyscalls, treeThreads, type ProcFs } from '../harness/procfs.ts';
import {
  counterDeltas,
  scrapeCounters,
  sumMetric,
  trafficCheck,
  type Fetcher,
  type MetricSeries,
} from '../harness/prometheus.ts';
import { ProxyProcess, runWhileAlive, waitUntilReady } from '../harness/proxyProcess.ts';
import type { ProgressSink } from '../harness/progress.ts';
import type { PhaseTimer } from '../harness/phases.ts';
import type { MysqlConnection } from '../mysql/url.ts';
import { runStatements } from '../drivers/common.ts';
import { GATE_METRICS } from '../../proxy/src/contract.ts';
import { parseCallgrind } from './callgrind.ts';
import { functionsPerQuery, loadPerfMaps, writeSymbolizedDump } from './profile.ts';
import { needsMoreWindows, settleState, type SettleRule } from './settle.ts';
import { syscallsPerQuery, windowSyscalls, type WindowSyscalls } from './syscalls.ts';
import { callgrindStartCommand, controlCallgrind, latestDump } from './valgrind.ts';

/**
 * The work channel: what a proxy does per query, counted rather than timed. Each proxy arm runs
 * under callgrind; each sysbench workload is driven through it in windows of a fixed event count at
 * a low, fixed concurrency, and per window the engine counts the proxy's instructions and system
 * calls (callgrind), its read/write calls (/proc, a cross-check) and, where its metrics say, its
 * round trips and bytes to MySQL. Counts do not depend on how busy the machine is, so all arms run at the same time, each
 * on its own copy of the data: an A/B costs the wall time of one arm.
 */

export interface WorkArmInput {
  name: string;
  /** The command that runs the proxy in the foreground (a Node proxy: with deterministic V8 flags). */
  start: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  host: string;
  port: number;
  metricsUrl?: string;
  trafficCheck: boolean;
  readyTimeoutMs: number;
  /** Clients connect with TLS (see DriverContext's target). */
  tls?: { filesDir: string };
}

export interface WorkChannelOptions {
  arms: WorkArmInput[];
  workloads: Workload[];
  mysql: MysqlConnection & { database: string };
  settings: WorkSettings;
  outDir: string;
  valgrind: string;
  callgrindControl: string;
  signal?: AbortSignal;
  /**
   * After this time (ms since the epoch) the work channel's budget is spent: the rest belongs to
   * the time channel. Each workload gets an even share of what is left when it starts, and an arm
   * past its share gets no window beyond WINDOWS_PAST_BUDGET; counts that had not settled by then
   * are reported as not settled.
   */
  extraWindowsUntilMs?: number;
}

export interface WorkChannelDeps {
  exec: Exec;
  driverFor: (name: Workload['driver']) => Driver;
  progress: ProgressSink;
  procFs: ProcFs;
  fetcher: Fetcher;
  now: () => number;
  cleanup: CleanupStack;
  /** Records the wall time of a step (the engine's phase recorder). */
  phase: PhaseTimer;
}

interface LiveWorkArm {
  input: WorkArmInput;
  process: ProxyProcess;
}

/** A window may take this long per event before the run is called stuck (valgrind is ~50× slower). */
const WINDOW_TIMEOUT_PER_EVENT_SEC = 0.05;
const WINDOW_TIMEOUT_FLOOR_SEC = 120;
const TOP_FUNCTIONS_KEPT = 200;
const TOP_SYSCALLS_KEPT = 20;

/**
 * Windows every arm gets however slow they are: one that warms the process up and three to compare.
 * A regression that makes each query wait (a timer, a lock) stretches every window under
 * valgrind too, and shows in the first few as plainly as in twelve.
 */
const WINDOWS_PAST_BUDGET = 4;

/**
 * A workload's share of what is left of the work channel's budget: an even split between it and
 * the workloads after it, so that slow windows in one cannot take the others' (a workload that
 * finishes early leaves its time to the later ones).
 */
export function windowShareUntil(untilMs: number | undefined, nowMs: number, workloadsLeft: number): number {
  if (untilMs === undefined) return Number.POSITIVE_INFINITY;
  return nowMs + Math.max(0, untilMs - nowMs) / Math.max(1, workloadsLeft);
}

/** Measures every sysbench workload's counts through every arm; other workloads are left out. */
export async function measureWork(
  options: WorkChannelOptions,
  deps: WorkChannelDeps,
): Promise<Map<string, WorkloadWork>> {
  const profileDir = path.join(options.outDir, 'profiles');
  mkdirSync(profileDir, { recursive: true });
  const arms = await deps.phase('work: valgrind start', () => startUnderCallgrind(options, deps, profileDir));
  const out = new Map<string, WorkloadWork>();
  const counted = options.workloads.filter(
    (w): w is Extract<Workload, { driver: 'sysbench' }> => w.driver === 'sysbench' && countedByWorkChannel(w),
  );
  try {
    for (const [index, workload] of counted.entries()) {
      const share = windowShareUntil(options.extraWindowsUntilMs, deps.now(), counted.length - index);
      out.set(
        workload.id,
        await measureWorkload(workload, arms, { ...options, windowsUntilMs: share }, deps, profileDir),
      );
    }
  } finally {
    // The tree's pids name the perf maps; once stopped, the processes are no longer there to ask.
    const pids = arms.flatMap((arm) => [
      arm.process.pid,
      ...processTree(arm.process.pid, deps.procFs).map((p) => p.pid),
    ]);
    await Promise.all(arms.map((arm) => arm.process.stop(10_000)));
    for (const pid of pids) rmSync(`/tmp/perf-${pid}.map`, { force: true });
    // What callgrind wrote at exit (counts since the last window), not part of any measurement.
    for (const name of readdirSync(profileDir)) {
      if (/^callgrind\.\d+\.out/.test(name)) rmSync(path.join(profileDir, name), { force: true });
    }
  }
  return out;
}

async function startUnderCallgrind(
  options: WorkChannelOptions,
  deps: WorkChannelDeps,
  profileDir: string,
): Promise<LiveWorkArm[]> {
  const arms: LiveWorkArm[] = [];
  for (const input of options.arms) {
    deps.progress.note(`work channel: starting arm "${input.name}" under callgrind`);
    const process = ProxyProcess.start(
      input.name,
      callgrindStartCommand(options.valgrind, input.start, profileDir),
      {
        cwd: input.cwd,
        env: input.env,
        logPath: path.join(options.outDir, 'logs', `${input.name}-work.log`),
      },
    );
    deps.cleanup.add(`stop arm "${input.name}" (work channel)`, () => process.stop(10_000));
    arms.push({ input, process });
  }
  await Promise.all(
    arms.map(({ input, process }) =>
      waitUntilReady(process, {
        host: input.host,
        port: input.port,
        ...(input.metricsUrl !== undefined ? { metricsUrl: input.metricsUrl } : {}),
        timeoutMs: input.readyTimeoutMs,
        fetcher: deps.fetcher,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    ),
  );
  return arms;
}

/** The channel's options for one workload: until when its arms may add windows. */
type WorkloadWindowOptions = WorkChannelOptions & { windowsUntilMs: number };

async function measureWorkload(
  workload: Extract<Workload, { driver: 'sysbench' }>,
  arms: LiveWorkArm[],
  options: WorkloadWindowOptions,
  deps: WorkChannelDeps,
  profileDir: string,
): Promise<WorkloadWork> {
  const driver = deps.driverFor('sysbench');
  const measured: Workload = { ...workload, threads: options.settings.threads, warmupSec: 0 };
  const databases = await armDatabases(arms, options.mysql, workload.id, deps.cleanup);
  const results: Record<string, WorkArm> = {};
  try {
    const labels = { workload: workload.id };
    await deps.phase(
      'work: prepare',
      async () => {
        for (const database of new Set(databases.values())) {
          deps.progress.note(`work channel: ${workload.id}: preparing the data set in ${database}`);
          await driver.prepare(measured, { target: { ...options.mysql, database }, exec: deps.exec });
        }
      },
      labels,
    );
    const measuredArms = await deps.phase(
      'work: windows',
      () =>
        Promise.all(
          arms.map((arm) =>
            measureArm(arm, measured, databases.get(arm.input.name)!, options, deps, profileDir),
          ),
        ),
      labels,
    );
    arms.forEach((arm, i) => (results[arm.input.name] = measuredArms[i]!));
  } finally {
    for (const database of new Set(databases.values())) {
      await driver.cleanup(measured, { target: { ...options.mysql, database }, exec: deps.exec });
    }
  }
  return { threads: measured.threads, eventsPerWindow: workload.work.events, arms: results };
}

/**
 * One database per arm, created through direct MySQL and dropped at the end: arms run at once and
 * their writes must not meet (a deadlock between two arms' clients would change the counts). Also
 * with one arm, so a baseline recorded alone and a run next to a base log in with the same bytes.
 */
async function armDatabases(
  arms: LiveWorkArm[],
  mysql: MysqlConnection & { database: string },
  workloadId: string,
  cleanup: CleanupStack,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [index, arm] of arms.entries()) {
    // Numbered, not named after the arm: every arm's clients then send the same bytes (a database
    // name of another length is another login packet, another hash).
    const name = `athena_bench_work_${index + 1}`;
    await runStatements(mysql, [`CREATE DATABASE IF NOT EXISTS \`${name}\``], `work channel, ${workloadId}`);
    cleanup.add(`drop database ${name}`, () =>
      runStatements(mysql, [`DROP DATABASE IF EXISTS \`${name}\``], 'work channel cleanup'),
    );
    out.set(arm.input.name, name);
  }
  return out;
}

async function measureArm(
  arm: LiveWorkArm,
  workload: Workload,
  database: string,
  options: WorkloadWindowOptions,
  deps: WorkChannelDeps,
  profileDir: string,
): Promise<WorkArm> {
  const rule: SettleRule = options.settings;
  const windows: WorkWindow[] = [];
  const dumps: Array<Array<{ file: string; pid: number }>> = [];
  const syscallNames: Array<Map<string, number>> = [];
  const perQuery = () => windows.map((w) => (w.queries > 0 ? w.instructions / w.queries : 0));
  const mayAddWindow = () => windows.length < WINDOWS_PAST_BUDGET || deps.now() < options.windowsUntilMs;
  while (needsMoreWindows(perQuery(), rule)) {
    if (!mayAddWindow()) {
      deps.progress.note(`work channel: ${workload.id} · ${arm.input.name}: no budget left for more windows`);
      break;
    }
    const { window, files, byName } = await measureWindow(arm, workload, database, options, deps);
    windows.push(window);
    dumps.push(files);
    syscallNames.push(byName);
    deps.progress.note(
      `work channel: ${workload.id} · ${arm.input.name} · window ${windows.length}: ` +
        `${Math.round(window.instructions / Math.max(1, window.queries)).toLocaleString('en-US')} instructions/query, ` +
        `${((window.allSyscalls ?? 0) / Math.max(1, window.queries)).toFixed(2)} syscalls/query`,
    );
  }
  const state = settleState(perQuery(), rule);
  const kept = dumps.slice(state.firstKept).flat();
  const keptQueries = windows.slice(state.firstKept).reduce((sum, w) => sum + w.queries, 0);
  const pids = [...new Set(kept.map((d) => d.pid))];
  const perfMaps = loadPerfMaps(pids);
  const profile = writeArmProfile(kept, perfMaps, profileDir, `${workload.id}.${arm.input.name}`);
  const topFunctions = functionsPerQuery(kept, keptQueries, perfMaps).slice(0, TOP_FUNCTIONS_KEPT);
  const topSyscalls = syscallsPerQuery(syscallNames.slice(state.firstKept), keptQueries, TOP_SYSCALLS_KEPT);
  // The raw window dumps are large (~0.5 MB each); the symbolised profile above stays.
  for (const file of dumps.flat()) rmSync(file.file, { force: true });
  return {
    windows,
    firstKept: state.firstKept,
    settled: state.settled,
    spreadPct: state.spreadPct,
    topFunctions,
    topSyscalls,
    profile: profile ? path.relative(options.outDir, profile) : null,
  };
}

/** The last kept window of the arm's main process, symbolised: what KCachegrind opens. */
function writeArmProfile(
  kept: ReadonlyArray<{ file: string; pid: number }>,
  perfMaps: ReturnType<typeof loadPerfMaps>,
  profileDir: string,
  stem: string,
): string | null {
  const last = kept.at(-1);
  if (!last) return null;
  const target = path.join(profileDir, `${stem}.callgrind.out`);
  writeSymbolizedDump(last.file, target, perfMaps.get(last.pid));
  return target;
}

async function measureWindow(
  arm: LiveWorkArm,
  workload: Workload,
  database: string,
  options: WorkChannelOptions,
  deps: WorkChannelDeps,
): Promise<{ window: WorkWindow; files: Array<{ file: string; pid: number }>; byName: Map<string, number> }> {
  const { input, process } = arm;
  const pids = processTree(process.pid, deps.procFs).map((p) => p.pid);
  const before = input.metricsUrl ? await scrape(arm, input.metricsUrl, deps.fetcher) : undefined;
  const syscallsBefore = treeIoSyscalls(process.pid, deps.procFs);
  await controlCallgrind(deps.exec, options.callgrindControl, 'zero', pids, options.signal);
  const started = deps.now();
  const run = await runEvents(arm, workload, database, options, deps);
  const wallSec = (deps.now() - started) / 1000;
  const profileDir = path.join(options.outDir, 'profiles');
  const previous = new Map(pids.map((pid) => [pid, latestDump(profileDir, pid)]));
  const dumped = await controlCallgrind(deps.exec, options.callgrindControl, 'dump', pids, options.signal);
  const syscalls = treeIoSyscalls(process.pid, deps.procFs) - syscallsBefore;
  const threads = treeThreads(process.pid, deps.procFs);
  const after = input.metricsUrl ? await scrape(arm, input.metricsUrl, deps.fetcher) : undefined;
  const files = await Promise.all(
    dumped.map(async (pid) => ({ ...(await newDump(profileDir, pid, previous.get(pid) ?? null)), pid })),
  );
  const queries = run.metrics.queries;
  const traffic = before && after ? backendTraffic(before, after, queries, input) : null;
  const calls = sumSyscalls(files.map((f) => f.syscalls));
  return {
    window: {
      events: workload.work.events,
      queries,
      instructions: files.reduce((sum, f) => sum + f.instructions, 0),
      syscalls,
      allSyscalls: calls?.syscalls ?? null,
      clockReads: calls?.clockReads ?? null,
      threads: threads > 0 ? threads : null,
      backendRoundTrips: traffic?.roundTrips ?? null,
      backendBytes: traffic?.bytes ?? null,
      wallSec,
    },
    files: files.map(({ file, pid }) => ({ file, pid })),
    byName: calls?.byName ?? new Map(),
  };
}

/** The tree's calls: the sum over its processes' dumps, null when a dump has no sysCount column. */
function sumSyscalls(perProcess: ReadonlyArray<WindowSyscalls | null>): WindowSyscalls | null {
  if (perProcess.length === 0 || perProcess.some((p) => p === null)) return null;
  const byName = new Map<string, number>();
  for (const p of perProcess as WindowSyscalls[]) {
    for (const [name, count] of p.byName) byName.set(name, (byName.get(name) ?? 0) + count);
  }
  return {
    syscalls: perProcess.reduce((sum, p) => sum + p!.syscalls, 0),
    clockReads: perProcess.reduce((sum, p) => sum + p!.clockReads, 0),
    byName,
  };
}

/** The window's fixed number of sysbench events through the arm, which must stay alive meanwhile. */
function runEvents(
  arm: LiveWorkArm,
  workload: Workload,
  database: string,
  options: WorkChannelOptions,
  deps: WorkChannelDeps,
): Promise<DriverRun> {
  const { input } = arm;
  const events = workload.work.events;
  const timeoutSec = Math.max(WINDOW_TIMEOUT_FLOOR_SEC, events * WINDOW_TIMEOUT_PER_EVENT_SEC);
  const target = {
    ...options.mysql,
    host: input.host,
    port: input.port,
    database,
    ...(input.tls ? { tls: input.tls } : {}),
  };
  return runWhileAlive(
    arm.process,
    (signal) =>
      deps
        .driverFor('sysbench')
        .run(workload, { target, exec: deps.exec, signal }, { events: { count: events, timeoutSec } }),
    options.signal,
    'during a work window',
  );
}

/** How long a dump may take to appear complete after callgrind_control said it was sent. */
const DUMP_WAIT_MS = 30_000;

/**
 * The dump this window made — newer than `previous`, written to its last line (`totals:`) — and
 * the instructions and system calls it counted. A window must never count zero because a file was
 * late.
 */
async function newDump(
  dir: string,
  pid: number,
  previous: string | null,
): Promise<{ file: string; instructions: number; syscalls: WindowSyscalls | null }> {
  const deadline = Date.now() + DUMP_WAIT_MS;
  for (;;) {
    const file = latestDump(dir, pid);
    if (file !== null && file !== previous) {
      const text = readFileSync(file, 'utf8');
      if (/(^|\n)totals:[^\n]*\n$/.test(text.slice(-4096))) {
        const profile = parseCallgrind(text);
        return { file, instructions: profile.totalIr, syscalls: windowSyscalls(profile) };
      }
    }
    if (Date.now() > deadline) {
      throw new InfrastructureError(
        `callgrind wrote no new profile for pid ${pid} in ${dir} within ${DUMP_WAIT_MS / 1000} s of the dump request`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function backendTraffic(
  before: MetricSeries,
  after: MetricSeries,
  queries: number,
  input: WorkArmInput,
): { roundTrips: number | null; bytes: number | null } {
  const deltas = counterDeltas(before, after);
  const check = trafficCheck(deltas, queries);
  if (input.trafficCheck && check && !check.ok) {
    throw new InfrastructureError(
      `arm "${input.name}", work channel: the proxy saw ${check.observedQueries} of ${check.expectedQueries} queries — the benchmark did not go through it`,
    );
  }
  return {
    roundTrips: sumMetric(deltas, GATE_METRICS.backendRoundTrips),
    bytes: sumMetric(deltas, GATE_METRICS.backendBytes),
  };
}

async function scrape(arm: LiveWorkArm, url: string, fetcher: Fetcher): Promise<MetricSeries> {
  try {
    return await scrapeCounters(url, fetcher);
  } catch (error) {
    if (arm.process.exited) throw arm.process.deathError('while its metrics were scraped');
    throw new InfrastructureError(
      `arm "${arm.input.name}", work channel: scraping ${url} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
