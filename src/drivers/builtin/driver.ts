import mysql from 'mysql2/promise';
import mysql2Package from 'mysql2/package.json' with { type: 'json' };
import { InfrastructureError, errorMessage } from '../../errors.ts';
import { formatMysqlUrl, redact } from '../../mysql/url.ts';
import type { DriverMetrics } from '../../results/schema.ts';
import { runStatements } from '../common.ts';
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
  const now = deps.now ?? (() => performance.now());
  const cpuUsage = deps.cpuUsage ?? ((prev?: NodeJS.CpuUsage) => process.cpuUsage(prev));
  const random = deps.random ?? Math.random;
  const randomId = (size: number) => 1 + Math.floor(random() * size);
  const randomTable = (w: BuiltinWorkload) => `${BUILTIN_TABLE_PREFIX}${randomId(w.options.tables)}`;
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
  // sysbench's c (120 chars) and pad (60 chars): groups of 11 digits joined by '-'.
  const cValue = () =>
    Array.from({ length: 10 }, () => digits(11))
      .join('-')
      .slice(0, 119);
  const padValue = () =>
    Array.from({ length: 5 }, () => digits(11))
      .join('-')
      .slice(0, 59);

  const tableNames = (w: BuiltinWorkload) =>
    Array.from({ length: w.options.tables }, (_, i) => `${BUILTIN_TABLE_PREFIX}${i + 1}`);

  async function connect(ctx: DriverContext): Promise<mysql.Connection> {
    try {
      return await mysql.createConnection({
        host: ctx.target.host,
        port: ctx.target.port,
        user: ctx.target.user,
        password: ctx.target.password,
        database: ctx.target.database,
        connectTimeout: 15_000,
        ...(ctx.target.tls ? { ssl: { rejectUnauthorized: false } } : {}),
      });
    } catch (error) {
      throw new InfrastructureError(
        `builtin driver: cannot connect to ${formatMysqlUrl(ctx.target)}: ${redact(errorMessage(error), [ctx.target.password])}`,
        { cause: error },
      );
    }
  }

  async function pointSelect(conn: mysql.Connection, w: BuiltinWorkload, c: Counters) {
    await conn.execute(`SELECT c FROM ${randomTable(w)} WHERE id=?`, [randomId(w.options.tableSize)]);
    c.read++;
  }

  async function readWrite(conn: mysql.Connection, w: BuiltinWorkload, c: Counters) {
    const table = randomTable(w);
    const size = w.options.tableSize;
    const rangeStart = () => {
      const start = randomId(Math.max(1, size - RANGE_SIZE + 1));
      return [start, start + RANGE_SIZE - 1];
    };
    await conn.query('BEGIN');
    c.other++;
    for (let i = 0; i < POINT_SELECTS; i++) {
      await conn.execute(`SELECT c FROM ${table} WHERE id=?`, [randomId(size)]);
      c.read++;
    }
    await conn.execute(`SELECT c FROM ${table} WHERE id BETWEEN ? AND ?`, rangeStart());
    await conn.execute(`SELECT SUM(k) FROM ${table} WHERE id BETWEEN ? AND ?`, rangeStart());
    await conn.execute(`SELECT c FROM ${table} WHERE id BETWEEN ? AND ? ORDER BY c`, rangeStart());
    await conn.execute(`SELECT DISTINCT c FROM ${table} WHERE id BETWEEN ? AND ? ORDER BY c`, rangeStart());
    c.read += 4;
    await conn.execute(`UPDATE ${table} SET k=k+1 WHERE id=?`, [randomId(size)]);
    await conn.execute(`UPDATE ${table} SET c=? WHERE id=?`, [cValue(), randomId(size)]);
    const id = randomId(size);
    await conn.execute(`DELETE FROM ${table} WHERE id=?`, [id]);
    await conn.execute(`INSERT INTO ${table} (id, k, c, pad) VALUES (?, ?, ?, ?)`, [
      id,
      randomId(size),
      cValue(),
      padValue(),
    ]);
    c.write += 4;
    await conn.query('COMMIT');
    c.other++;
  }

  /** Runs one transaction; returns false when it hit a retryable error (rolled back, counted). */
  async function oneTransaction(conn: mysql.Connection, w: BuiltinWorkload, c: Counters): Promise<boolean> {
    try {
      if (w.options.mix === 'point_select') await pointSelect(conn, w, c);
      else await readWrite(conn, w, c);
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

  return {
    name: 'builtin',

    detect() {
      return Promise.resolve({
        available: true,
        binary: 'mysql2 (in process)',
        version: `mysql2 ${mysql2Package.version}`,
      });
    },

    async prepare(w, ctx) {
      const statements: string[] = [];
      for (const table of tableNames(w)) {
        statements.push(
          `DROP TABLE IF EXISTS ${table}`,
          `CREATE TABLE ${table} (id INTEGER NOT NULL AUTO_INCREMENT, k INTEGER DEFAULT '0' NOT NULL, ` +
            `c CHAR(120) DEFAULT '' NOT NULL, pad CHAR(60) DEFAULT '' NOT NULL, PRIMARY KEY (id))`,
        );
        for (let first = 1; first <= w.options.tableSize; first += INSERT_BATCH) {
          const last = Math.min(w.options.tableSize, first + INSERT_BATCH - 1);
          const rows: string[] = [];
          for (let id = first; id <= last; id++) {
            rows.push(`(${id}, ${randomId(w.options.tableSize)}, '${cValue()}', '${padValue()}')`);
          }
          statements.push(`INSERT INTO ${table} (id, k, c, pad) VALUES ${rows.join(',')}`);
        }
        statements.push(`CREATE INDEX k_${table.slice(BUILTIN_TABLE_PREFIX.length)} ON ${table}(k)`);
      }
      await runStatements(ctx.target, statements, `builtin ${w.id} prepare`);
    },

    async run(w, ctx, opts: RunOptions = {}): Promise<DriverRun> {
      const timeSec = opts.durationSec ?? w.options.timeSec;
      const connections: mysql.Connection[] = [];
      let failure: unknown;
      try {
        for (let i = 0; i < w.threads; i++) connections.push(await connect(ctx));

        /** Runs every connection's loop until `seconds` have passed; returns the counters. */
        const phase = async (seconds: number, histogram: LatencyHistogram | null, progress: boolean) => {
          const counters = emptyCounters();
          const start = now();
          const end = start + seconds * 1000;
          let stop = false;
          const onAbort = () => (stop = true);
          ctx.signal?.addEventListener('abort', onAbort, { once: true });
          let last = { t: start, transactions: 0, queries: 0 };
          const timer =
            progress && ctx.onProgress
              ? setInterval(() => {
                  const t = now();
                  const queries = counters.read + counters.write + counters.other;
                  const dt = (t - last.t) / 1000;
                  if (dt > 0) {
                    ctx.onProgress?.({
                      elapsedSec: Math.round((t - start) / 1000),
                      tps: (counters.transactions - last.transactions) / dt,
                      qps: (queries - last.queries) / dt,
                    });
                  }
                  last = { t, transactions: counters.transactions, queries };
                }, 1000)
              : undefined;
          try {
            await Promise.all(
              connections.map(async (conn) => {
                while (!stop && now() < end) {
                  const t0 = now();
                  if (await oneTransaction(conn, w, counters)) {
                    counters.transactions++;
                    histogram?.record(now() - t0);
                  }
                }
              }),
            );
          } catch (error) {
            stop = true;
            throw error;
          } finally {
            if (timer) clearInterval(timer);
            ctx.signal?.removeEventListener('abort', onAbort);
          }
          if (ctx.signal?.aborted) throw new InfrastructureError(`builtin driver (${w.id}) was aborted`);
          return { counters, elapsedSec: (now() - start) / 1000 };
        };

        if (w.warmupSec > 0) await phase(w.warmupSec, null, false);
        const histogram = new LatencyHistogram();
        const cpuBefore = cpuUsage();
        const { counters, elapsedSec } = await phase(timeSec, histogram, true);
        const cpu = cpuUsage(cpuBefore);
        const queries = counters.read + counters.write + counters.other;
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
    },

    async cleanup(w, ctx) {
      await runStatements(
        ctx.target,
        tableNames(w).map((t) => `DROP TABLE IF EXISTS ${t}`),
        `builtin ${w.id} cleanup`,
      );
    },
  };
}
