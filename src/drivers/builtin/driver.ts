import type mysql from 'mysql2/promise';
import mysql2Package from 'mysql2/package.json' with { type: 'json' };
import { InfrastructureError, errorMessage } from '../../util/errors.ts';
import { formatMysqlUrl, redact } from '../../mysql/url.ts';
import type { DriverMetrics } from '../../results/schema.ts';
import { openConnection, runStatements } from '../common.ts';
import type { Driver, DriverContext, DriverRun, RunOptions, WorkloadOf } from '../types.ts';
import { LatencyHistogram } from './histogram.ts';

export type BuiltinWorkload = WorkloadOf<'builtin'>;

/** Table name prefix: distinct from sysbench's sbtestN so the two drivers never drop each other's data. */
export const BUILTIN_TABLE_PREFIX = 'athena_sbtest';

/** MySQL errors a read/write transaction retries, as sysbench's default --mysql-ignore-errors does. */
const RETRYABLE_ERRNOS = new Set([1213 /* deadlock */, 1205 /* lock wait timeout */]);

const RANGE_SIZE = 100;
const POINT_SELECTS = 10;
const INSERT_BATCH = 1000;

/** Injected for tests: a clock and the process CPU counter. */
export interface BuiltinDriverDeps {
  now?: () => number;
  cpuUsage?: (previous?: NodeJS.CpuUsage) => NodeJS.CpuUsage;
  random?: () => number;
}

interface Counters {
  transactions: number;
  read: number;
  write: number;
  other: number;
  errors: number;
}

const emptyCounters = (): Counters => ({ transactions: 0, read: 0, write: 0, other: 0, errors: 0 });

/** The driver's clock, CPU counter and random source, resolved from the injected deps. */
interface Env {
  now: () => number;
  cpuUsage: (previous?: NodeJS.CpuUsage) => NodeJS.CpuUsage;
  rows: RowValues;
}

/** Random ids, tables and sysbench-like column values. */
class RowValues {
  constructor(private readonly random: () => number) {}

  id(size: number): number {
    return 1 + Math.floor(this.random() * size);
  }

  table(w: BuiltinWorkload): string {
    return `${BUILTIN_TABLE_PREFIX}${this.id(w.options.tables)}`;
  }

  /** sysbench's c (120 chars): groups of 11 digits joined by '-'. */
  c(): string {
    return this.digitGroups(10).slice(0, 119);
  }

  /** sysbench's pad (60 chars). */
  pad(): string {
    return this.digitGroups(5).slice(0, 59);
  }

  private digitGroups(groups: number): string {
    const digits = () => Array.from({ length: 11 }, () => Math.floor(this.random() * 10)).join('');
    return Array.from({ length: groups }, digits).join('-');
  }
}

/**
 * A closed-loop load generator in this process (mysql2): `threads` connections, each running one
 * transaction after another until the time is up.
 *   mix point_select: one prepared `SELECT c FROM <table> WHERE id=?` per transaction (autocommit);
 *   mix read_write: like sysbench's oltp_read_write — BEGIN, 10 point selects, 4 range selects
 *     (simple, SUM, ORDER BY, DISTINCT over 100 ids), 2 updates (index and non-index column),
 *     DELETE + INSERT of one row, COMMIT: 20 statements, counted read 14 / write 4 / other 2.
 * Statements run as server-side prepared statements (mysql2 execute), BEGIN/COMMIT as text queries.
 * Deadlocks and lock-wait timeouts roll back, count as errors and are retried (sysbench's default);
 * any other error fails the run.
 *
 * It measures its own CPU (process.cpuUsage over the measured window, so it includes anything else
 * this process does meanwhile) and reports it as loadGeneratorCpuUsPerQuery: a proxy's CPU figures
 * must never be confused with it.
 */
export function createBuiltinDriver(deps: BuiltinDriverDeps = {}): Driver<BuiltinWorkload> {
  const env: Env = {
    now: deps.now ?? (() => performance.now()),
    cpuUsage: deps.cpuUsage ?? ((prev?: NodeJS.CpuUsage) => process.cpuUsage(prev)),
    rows: new RowValues(deps.random ?? Math.random),
  };
  return {
    name: 'builtin',
    detect: () =>
      Promise.resolve({
        available: true,
        binary: 'mysql2 (in process)',
        version: `mysql2 ${mysql2Package.version}`,
      }),
    prepare: async (w, ctx) => {
      await runStatements(ctx.target, prepareStatements(w, env.rows), `builtin ${w.id} prepare`);
    },
    run: (w, ctx, opts: RunOptions = {}) => runBuiltin(env, w, ctx, opts),
    cleanup: async (w, ctx) => {
      await runStatements(
        ctx.target,
        tableNames(w).map((t) => `DROP TABLE IF EXISTS ${t}`),
        `builtin ${w.id} cleanup`,
      );
    },
  };
}

const tableNames = (w: BuiltinWorkload) =>
  Array.from({ length: w.options.tables }, (_, i) => `${BUILTIN_TABLE_PREFIX}${i + 1}`);

/** Drops, creates and fills every table, INSERT_BATCH rows a statement, then indexes k. */
function prepareStatements(w: BuiltinWorkload, rows: RowValues): string[] {
  const statements: string[] = [];
  const size = w.options.tableSize;
  for (const table of tableNames(w)) {
    statements.push(
      `DROP TABLE IF EXISTS ${table}`,
      `CREATE TABLE ${table} (id INTEGER NOT NULL AUTO_INCREMENT, k INTEGER DEFAULT '0' NOT NULL, ` +
        `c CHAR(120) DEFAULT '' NOT NULL, pad CHAR(60) DEFAULT '' NOT NULL, PRIMARY KEY (id))`,
    );
    for (let first = 1; first <= size; first += INSERT_BATCH) {
      const last = Math.min(size, first + INSERT_BATCH - 1);
      const values: string[] = [];
      for (let id = first; id <= last; id++) {
        values.push(`(${id}, ${rows.id(size)}, '${rows.c()}', '${rows.pad()}')`);
      }
      statements.push(`INSERT INTO ${table} (id, k, c, pad) VALUES ${values.join(',')}`);
    }
    statements.push(`CREATE INDEX k_${table.slice(BUILTIN_TABLE_PREFIX.length)} ON ${table}(k)`);
  }
  return statements;
}

/** What one phase (warm-up or measured) of a run works with. */
interface Load {
  env: Env;
  w: BuiltinWorkload;
  ctx: DriverContext;
  connections: mysql.Connection[];
}

async function runBuiltin(
  env: Env,
  w: BuiltinWorkload,
  ctx: DriverContext,
  opts: RunOptions,
): Promise<DriverRun> {
  const timeSec = opts.durationSec ?? w.options.timeSec;
  const connections: mysql.Connection[] = [];
  let failure: unknown;
  try {
    for (let i = 0; i < w.threads; i++) connections.push(await connect(ctx));
    const load: Load = { env, w, ctx, connections };
    if (w.warmupSec > 0) await phase(load, w.warmupSec, null, false);
    const histogram = new LatencyHistogram();
    const cpuBefore = env.cpuUsage();
    const { counters, elapsedSec } = await phase(load, timeSec, histogram, true);
    return builtinRun(w, counters, elapsedSec, histogram, env.cpuUsage(cpuBefore));
  } catch (error) {
    failure = error;
    if (error instanceof InfrastructureError) throw error;
    throw new InfrastructureError(
      `builtin driver (${w.id}) failed against ${formatMysqlUrl(ctx.target)}: ${redact(errorMessage(error), [ctx.target.password])}`,
      { cause: error },
    );
  } finally {
    await Promise.all(
      connections.map((c) => (failure ? Promise.resolve(c.destroy()) : c.end().catch(() => c.destroy()))),
    );
  }
}

function connect(ctx: DriverContext): Promise<mysql.Connection> {
  return openConnection(ctx.target, 'builtin driver', { tls: ctx.target.tls !== undefined });
}

/** Runs every connection's loop until `seconds` have passed; returns the counters. */
async function phase(
  load: Load,
  seconds: number,
  histogram: LatencyHistogram | null,
  progress: boolean,
): Promise<{ counters: Counters; elapsedSec: number }> {
  const { env, w, ctx } = load;
  const counters = emptyCounters();
  const start = env.now();
  const end = start + seconds * 1000;
  let stop = false;
  const onAbort = () => (stop = true);
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    progress && ctx.onProgress ? reportProgress(env.now, ctx.onProgress, counters, start) : undefined;
  try {
    const running = () => !stop && env.now() < end;
    await Promise.all(load.connections.map((conn) => loop(load, conn, counters, histogram, running)));
  } catch (error) {
    stop = true;
    throw error;
  } finally {
    if (timer) clearInterval(timer);
    ctx.signal?.removeEventListener('abort', onAbort);
  }
  if (ctx.signal?.aborted) throw new InfrastructureError(`builtin driver (${w.id}) was aborted`);
  return { counters, elapsedSec: (env.now() - start) / 1000 };
}

/** One connection's transactions, one after another, while `running()`. */
async function loop(
  load: Load,
  conn: mysql.Connection,
  counters: Counters,
  histogram: LatencyHistogram | null,
  running: () => boolean,
): Promise<void> {
  while (running()) {
    const t0 = load.env.now();
    if (await oneTransaction(conn, load.w, load.env.rows, counters)) {
      counters.transactions++;
      histogram?.record(load.env.now() - t0);
    }
  }
}

/** Reports the throughput since the last report, once a second. */
function reportProgress(
  now: () => number,
  onProgress: NonNullable<DriverContext['onProgress']>,
  counters: Counters,
  start: number,
): NodeJS.Timeout {
  let last = { t: start, transactions: 0, queries: 0 };
  return setInterval(() => {
    const t = now();
    const queries = queryCount(counters);
    const dt = (t - last.t) / 1000;
    if (dt > 0) {
      onProgress({
        elapsedSec: Math.round((t - start) / 1000),
        tps: (counters.transactions - last.transactions) / dt,
        qps: (queries - last.queries) / dt,
      });
    }
    last = { t, transactions: counters.transactions, queries };
  }, 1000);
}

const queryCount = (c: Counters) => c.read + c.write + c.other;

/** Runs one transaction; returns false when it hit a retryable error (rolled back, counted). */
async function oneTransaction(
  conn: mysql.Connection,
  w: BuiltinWorkload,
  rows: RowValues,
  c: Counters,
): Promise<boolean> {
  try {
    if (w.options.mix === 'point_select') await pointSelect(conn, w, rows, c);
    else await readWrite(conn, w, rows, c);
    return true;
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    if (errno !== undefined && RETRYABLE_ERRNOS.has(errno)) {
      c.errors++;
      await conn.query('ROLLBACK').catch(() => undefined);
      return false;
    }
    throw error;
  }
}

async function pointSelect(conn: mysql.Connection, w: BuiltinWorkload, rows: RowValues, c: Counters) {
  await conn.execute(`SELECT c FROM ${rows.table(w)} WHERE id=?`, [rows.id(w.options.tableSize)]);
  c.read++;
}

async function readWrite(conn: mysql.Connection, w: BuiltinWorkload, rows: RowValues, c: Counters) {
  const table = rows.table(w);
  const size = w.options.tableSize;
  const range = () => {
    const start = rows.id(Math.max(1, size - RANGE_SIZE + 1));
    return [start, start + RANGE_SIZE - 1];
  };
  await conn.query('BEGIN');
  c.other++;
  for (let i = 0; i < POINT_SELECTS; i++) {
    await conn.execute(`SELECT c FROM ${table} WHERE id=?`, [rows.id(size)]);
    c.read++;
  }
  await conn.execute(`SELECT c FROM ${table} WHERE id BETWEEN ? AND ?`, range());
  await conn.execute(`SELECT SUM(k) FROM ${table} WHERE id BETWEEN ? AND ?`, range());
  await conn.execute(`SELECT c FROM ${table} WHERE id BETWEEN ? AND ? ORDER BY c`, range());
  await conn.execute(`SELECT DISTINCT c FROM ${table} WHERE id BETWEEN ? AND ? ORDER BY c`, range());
  c.read += 4;
  await conn.execute(`UPDATE ${table} SET k=k+1 WHERE id=?`, [rows.id(size)]);
  await conn.execute(`UPDATE ${table} SET c=? WHERE id=?`, [rows.c(), rows.id(size)]);
  const id = rows.id(size);
  await conn.execute(`DELETE FROM ${table} WHERE id=?`, [id]);
  await conn.execute(`INSERT INTO ${table} (id, k, c, pad) VALUES (?, ?, ?, ?)`, [
    id,
    rows.id(size),
    rows.c(),
    rows.pad(),
  ]);
  c.write += 4;
  await conn.query('COMMIT');
  c.other++;
}

/** The measured phase's counters as the driver's metrics and raw output. */
function builtinRun(
  w: BuiltinWorkload,
  counters: Counters,
  elapsedSec: number,
  histogram: LatencyHistogram,
  cpu: NodeJS.CpuUsage,
): DriverRun {
  const queries = queryCount(counters);
  if (counters.transactions === 0 || elapsedSec <= 0) {
    throw new InfrastructureError(
      `builtin driver (${w.id}) completed 0 transactions in ${elapsedSec.toFixed(1)} s`,
    );
  }
  const metrics: DriverMetrics = {
    durationSec: elapsedSec,
    transactions: counters.transactions,
    tps: counters.transactions / elapsedSec,
    queries,
    qps: queries / elapsedSec,
    queriesRead: counters.read,
    queriesWrite: counters.write,
    queriesOther: counters.other,
    latencyMs: histogram.summary(),
    errors: counters.errors,
    reconnects: 0,
    intervals: [],
  };
  const cpuUsPerQuery = (cpu.user + cpu.system) / queries;
  return {
    metrics,
    loadGeneratorCpuUsPerQuery: cpuUsPerQuery,
    rawOutput:
      `builtin ${w.options.mix}: ${w.threads} connections, ${elapsedSec.toFixed(3)} s, ` +
      `${counters.transactions} transactions, ${queries} queries ` +
      `(read ${counters.read} / write ${counters.write} / other ${counters.other}), ` +
      `${counters.errors} retried errors, load generator CPU ${cpuUsPerQuery.toFixed(1)} µs/query`,
  };
}
