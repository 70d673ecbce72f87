import { SuiteSchema, type Suite, type SuiteInput, type Workload } from './schema.ts';

/**
 * The suites that ship with the gate. Every one is validated through SuiteSchema at load time
 * (defaults filled in), exactly like a suite file.
 */

/** The guide's custom-query table: created (never dropped: it may be the user's) in the bench database. */
const USERS_SETUP_SQL = [
  'CREATE TABLE IF NOT EXISTS users (user_id INT NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL, ' +
    'email VARCHAR(128) NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)',
  "INSERT IGNORE INTO users (user_id, name, email) VALUES (1, 'user1', 'user1@example.com'), " +
    "(2, 'user2', 'user2@example.com'), (3, 'user3', 'user3@example.com')",
];
const CUSTOM_QUERY = 'SELECT * FROM users WHERE user_id = 1';

type WorkloadInput = SuiteInput['workloads'][number];

/** How big one suite runs the guide's sysbench rows. */
interface SysbenchSizing {
  tables: number;
  tableSize: number;
  timeSec: number;
  warmupSec?: number;
  /** Work-channel window sizes: OLTP read/write (18 queries per event), then select and insert. */
  events: { readWrite: number; single: number };
}

/**
 * The performance-testing guide's table rows (docs/PERF.md): OLTP read/write at 16 threads, point
 * select at 32, insert at 16. oltp_read_write allows errors: the deadlocks InnoDB reports under 16
 * threads are retried by sysbench ("ignored errors") and are part of the workload; they are still
 * reported and compared. With more client threads than cores, p95 latency is queueing in the
 * saturated machine more than the proxy's doing: it warns there, and the latency workload gates it.
 */
function guideSysbenchWorkloads(size: SysbenchSizing): WorkloadInput[] {
  const rows = [
    {
      id: 'oltp-read-write',
      title: 'OLTP R/W',
      threads: 16,
      test: 'oltp_read_write',
      events: size.events.readWrite,
    },
    { id: 'select', title: 'Select', threads: 32, test: 'oltp_point_select', events: size.events.single },
    { id: 'insert', title: 'Insert', threads: 16, test: 'oltp_insert', events: size.events.single },
  ] as const;
  return rows.map((row) => ({
    id: row.id,
    title: row.title,
    driver: 'sysbench' as const,
    threads: row.threads,
    ...(size.warmupSec === undefined ? {} : { warmupSec: size.warmupSec }),
    ...(row.test === 'oltp_read_write' ? { allowErrors: true } : {}),
    metrics: SATURATED_METRICS,
    options: { test: row.test, tables: size.tables, tableSize: size.tableSize, timeSec: size.timeSec },
    work: { events: row.events },
  }));
}

const SATURATED_METRICS = { latency_p95_ms: { policy: 'warn' as const } };

/**
 * Point select at one client thread, below the core count: nothing queues, so a wait the proxy adds
 * (a timer, a lock, a lost pipelining) shows in full as latency and throughput, where the guide's
 * saturated rows hide it. It gates the latency the proxy adds (its p95 minus direct MySQL's in the
 * same round) besides TPS. Its counts would repeat the select row's (the work channel runs one
 * client thread anyway), so only the time channel measures it.
 */
function latencyWorkload(size: SysbenchSizing): WorkloadInput {
  return {
    id: 'latency',
    title: 'Point select, 1 thread (latency)',
    driver: 'sysbench',
    threads: 1,
    ...(size.warmupSec === undefined ? {} : { warmupSec: size.warmupSec }),
    // Its CPU per query is the select row's, counted there by the work channel.
    metrics: { added_latency_p95_ms: { policy: 'gate' }, cpu_us_per_query: { policy: 'warn' } },
    options: {
      test: 'oltp_point_select',
      tables: size.tables,
      tableSize: size.tableSize,
      timeSec: size.timeSec,
    },
    work: { events: size.events.single, measure: false },
  };
}

/**
 * The guide's two mysqlslap commands: auto-generated SQL, and its custom query on a users table.
 * A run is a burst of 1-8 s with 50 connections opened and closed in it: the proxy's CPU per query
 * moves ±20-33% between rounds (calibrate on quick; an A/A against the default baseline read
 * +7.45% [+3.37, +15.2]), and p95 is queueing behind 50 clients on 2 cores, so both warn only;
 * throughput and overhead gate, overhead at 10 points.
 */
const MYSQLSLAP_METRICS = {
  cpu_us_per_query: { thresholdPct: 10, policy: 'warn' as const },
  latency_p95_ms: { policy: 'warn' as const },
  // Overhead moves with the burst too: an A/A against a baseline recorded 10 minutes earlier read
  // +5.1 points [+1.8, +8.5] on the custom query (rounds spread 42-52%).
  overhead_pct: { thresholdPct: 10 },
};

function guideMysqlslapWorkloads(size: {
  iterations: number;
  autoQueries: number;
  customQueries: number;
}): WorkloadInput[] {
  return [
    {
      id: 'mysqlslap-auto',
      title: 'mysqlslap auto-generate-sql',
      driver: 'mysqlslap',
      threads: 50,
      metrics: MYSQLSLAP_METRICS,
      options: {
        autoGenerateSql: true,
        numberIntCols: 2,
        numberCharCols: 3,
        iterations: size.iterations,
        numberOfQueries: size.autoQueries,
      },
    },
    {
      id: 'mysqlslap-query',
      title: 'mysqlslap custom query',
      driver: 'mysqlslap',
      threads: 50,
      metrics: MYSQLSLAP_METRICS,
      options: {
        query: CUSTOM_QUERY,
        setupSql: USERS_SETUP_SQL,
        iterations: size.iterations,
        numberOfQueries: size.customQueries,
      },
    },
  ];
}

/**
 * `default`: the performance-testing guide's table (docs/PERF.md), its two mysqlslap commands, and the latency row.
 *
 * Sized for a verdict in 5 minutes on a 2-core runner with both channels (docs/ACCURACY.md has
 * the measured phase table): sysbench rounds of 3 s (their spread is the machine's, which moves
 * over seconds, more than the run's length; more rounds buy more than longer ones); the work channel's windows of 5,000 queries agree within ±0.6%
 * and settle in 6-10 windows; the time channel's 4 planned rounds against the 8-round baseline
 * can reach significance over its Holm family (one-sided 1/C(12, 4) = 0.002 ≤ 0.05 / 19), and
 * adaptive rounds go to workloads whose evidence leans towards a loss.
 */
const DEFAULT_SIZING: SysbenchSizing = {
  tables: 4,
  tableSize: 10_000,
  timeSec: 3,
  warmupSec: 1,
  events: { readWrite: 300, single: 5_000 },
};

const DEFAULT_SUITE: SuiteInput = {
  name: 'default',
  description:
    'The performance-testing guide: sysbench OLTP read/write, point select and insert, mysqlslap, and a 1-thread latency row',
  rounds: 4,
  maxRounds: 8,
  budgetMinutes: 5,
  work: { threads: 1, windows: 6, tolerancePct: 0.5, maxWindows: 12 },
  workloads: [
    ...guideSysbenchWorkloads(DEFAULT_SIZING),
    latencyWorkload(DEFAULT_SIZING),
    ...guideMysqlslapWorkloads({ iterations: 4, autoQueries: 1000, customQueries: 10_000 }),
  ],
};

/**
 * `quick`: the same shapes at 2 s per run on small tables and without warmup, for tests and
 * base-vs-head smoke checks. Its time channel keeps enough rounds that a 15% loss can reach
 * significance base-vs-head (one-sided 1/C(10, 5) = 0.004 ≤ 0.05 / 12 needs 5 rounds per arm).
 */
const QUICK_SIZING: SysbenchSizing = {
  tables: 2,
  tableSize: 1000,
  timeSec: 2,
  events: { readWrite: 250, single: 5000 },
};

const QUICK_SUITE: SuiteInput = {
  name: 'quick',
  description: 'The default suite shapes at 2 s per run on small tables: tests and smoke checks',
  rounds: 5,
  maxRounds: 7,
  budgetMinutes: 3,
  work: { threads: 1, windows: 6, tolerancePct: 0.5, maxWindows: 12 },
  workloads: [
    ...guideSysbenchWorkloads(QUICK_SIZING),
    latencyWorkload(QUICK_SIZING),
    ...guideMysqlslapWorkloads({ iterations: 2, autoQueries: 250, customQueries: 2000 }),
  ],
};

/**
 * `proxy-comparison`: the guide table's three sysbench rows with more rounds, for comparing Athena
 * with a reference proxy (haproxy in TCP mode) as a third arm.
 * Time: 3 workloads × 3 arms × 5 rounds × (3 s warmup + 10 s + ~1 s) = 630 s, prepare ~15 s:
 * about 11 minutes.
 */
const PROXY_COMPARISON_SUITE: SuiteInput = {
  name: 'proxy-comparison',
  description: 'sysbench read/write, point select and insert with more rounds: Athena vs a reference proxy',
  rounds: 5,
  maxRounds: 10,
  budgetMinutes: 20,
  workloads: guideSysbenchWorkloads({
    tables: 4,
    tableSize: 10_000,
    timeSec: 10,
    warmupSec: 3,
    events: { readWrite: 500, single: 10_000 },
  }),
};

export type BuiltinSuiteName = 'default' | 'quick' | 'proxy-comparison';

export const BUILTIN_SUITES: Record<BuiltinSuiteName, Suite> = {
  default: SuiteSchema.parse(DEFAULT_SUITE),
  quick: SuiteSchema.parse(QUICK_SUITE),
  'proxy-comparison': SuiteSchema.parse(PROXY_COMPARISON_SUITE),
};

export function isBuiltinSuiteName(name: string): name is BuiltinSuiteName {
  return Object.hasOwn(BUILTIN_SUITES, name);
}

/**
 * The builtin (mysql2) workload that stands in for a sysbench one when sysbench is missing:
 * oltp_point_select -> mix point_select, oltp_read_write -> mix read_write, same threads, tables,
 * rows, time and warmup; null for tests it has no equivalent of (oltp_insert…). Its figures are
 * not comparable with sysbench's: callers must label them as the builtin driver's.
 */
export function builtinEquivalent(workload: Workload): Workload | null {
  if (workload.driver !== 'sysbench') return null;
  const mix =
    workload.options.test === 'oltp_point_select'
      ? 'point_select'
      : workload.options.test === 'oltp_read_write'
        ? 'read_write'
        : null;
  if (mix === null) return null;
  return {
    id: workload.id,
    title: workload.title,
    threads: workload.threads,
    warmupSec: workload.warmupSec,
    metrics: workload.metrics,
    allowErrors: workload.allowErrors,
    work: workload.work,
    driver: 'builtin',
    options: {
      mix,
      tables: workload.options.tables,
      tableSize: workload.options.tableSize,
      timeSec: workload.options.timeSec,
    },
  };
}
