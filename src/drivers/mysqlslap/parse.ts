import { InfrastructureError } from '../../util/errors.ts';
import type { DriverMetrics } from '../../results/schema.ts';
import { tailLines } from '../../util/exec.ts';

/**
 * Parsers for mysqlslap / mariadb-slap output: the human "Benchmark" block and the `--csv` line.
 * Output that is not recognised fails loudly (InfrastructureError with the output tail); note that
 * mysqlslap prints "Cannot run query … ERROR : …" and still exits 0 when a query fails.
 */

export interface MysqlslapReport {
  /** Per iteration: seconds for all clients to run all their queries. */
  avgSec: number;
  minSec: number;
  maxSec: number;
  clients: number;
  /** Average number of queries per client and iteration. */
  queriesPerClient: number;
  /** Load type from --csv ("mixed", "read"…); null in the Benchmark block. */
  loadType: string | null;
  /** Engine from --csv (empty unless --engine was given); null in the Benchmark block. */
  engine: string | null;
}

const NUM = String.raw`(\d+(?:\.\d+)?)`;

function fail(what: string, text: string): never {
  const tail = text.trim() === '' ? '(empty output)' : tailLines(text, 20);
  throw new InfrastructureError(
    `mysqlslap output not understood: ${what}. Last lines of the output:\n${tail}`,
  );
}

/** mysqlslap's own error lines ("mariadb-slap: Cannot run query …", "…: Error when connecting…"). */
export function mysqlslapErrorLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(?:mysqlslap|mariadb-slap)(?:\.exe)?:\s/.test(l) && !/\[Warning\]/i.test(l));
}

/** Parses either form; the CSV form is recognised by its single comma-separated line. */
export function parseMysqlslapOutput(text: string): MysqlslapReport {
  if (text.trim() === '') fail('the output is empty', text);
  const errors = mysqlslapErrorLines(text);
  if (errors.length > 0) {
    throw new InfrastructureError(
      `mysqlslap failed: ${[...new Set(errors)].join(' | ')}. Last lines of the output:\n${tailLines(text, 20)}`,
    );
  }
  const csv = /^([^,\n]*),([^,\n]*),([^,\n]+),([^,\n]+),([^,\n]+),([^,\n]+),([^,\n]+)\s*$/m.exec(text);
  if (csv && !text.includes('Benchmark')) return fromCsv(csv, text);
  return fromBenchmarkBlock(text);
}

function fromBenchmarkBlock(text: string): MysqlslapReport {
  if (!/^Benchmark\s*$/m.test(text)) fail('no "Benchmark" block', text);
  const value = (label: string, unit = ''): number | undefined => {
    const m = new RegExp(String.raw`^\s*${label}:\s+${NUM}${unit}\s*$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const fields = {
    avgSec: value('Average number of seconds to run all queries', ' seconds'),
    minSec: value('Minimum number of seconds to run all queries', ' seconds'),
    maxSec: value('Maximum number of seconds to run all queries', ' seconds'),
    clients: value('Number of clients running queries'),
    queriesPerClient: value('Average number of queries per client'),
  };
  const labels: Record<keyof typeof fields, string> = {
    avgSec: 'Average number of seconds to run all queries',
    minSec: 'Minimum number of seconds to run all queries',
    maxSec: 'Maximum number of seconds to run all queries',
    clients: 'Number of clients running queries',
    queriesPerClient: 'Average number of queries per client',
  };
  const missing = (Object.keys(fields) as Array<keyof typeof fields>).filter((k) => fields[k] === undefined);
  if (missing.length > 0) {
    fail(`the Benchmark block lacks ${missing.map((k) => `"${labels[k]}"`).join(', ')}`, text);
  }
  return {
    avgSec: fields.avgSec!,
    minSec: fields.minSec!,
    maxSec: fields.maxSec!,
    clients: fields.clients!,
    queriesPerClient: fields.queriesPerClient!,
    loadType: null,
    engine: null,
  };
}

function fromCsv(m: RegExpExecArray, text: string): MysqlslapReport {
  const nums = [m[3], m[4], m[5], m[6], m[7]].map((v) => Number(v));
  if (nums.some((n) => !Number.isFinite(n))) {
    fail(
      'the --csv line "engine,load type,avg,min,max,clients,queries per client" has non-numeric fields',
      text,
    );
  }
  const [avgSec, minSec, maxSec, clients, queriesPerClient] = nums as [
    number,
    number,
    number,
    number,
    number,
  ];
  return { avgSec, minSec, maxSec, clients, queriesPerClient, loadType: m[2]!, engine: m[1]! };
}

/**
 * DriverMetrics from a report. mysqlslap measures whole iterations, not single queries, so:
 *   queries per iteration Q = clients × queries per client
 *   qps = tps = Q / average seconds per iteration (each query is its own autocommit transaction)
 *   transactions = queries = Q × iterations;  durationSec = average seconds × iterations
 *   latency avg = average seconds / queries per client (each client runs its queries one after
 *     another, so this is the mean time per query seen by a client, in ms)
 *   latency min/max/p95/p99 = null: mysqlslap does not time single queries (its "Minimum/Maximum
 *     number of seconds" are per-iteration figures, kept in the raw output).
 *   errors = 0: mysqlslap stops at the first failed query, which is reported as a failure instead.
 */
export function mysqlslapMetrics(report: MysqlslapReport, iterations: number): DriverMetrics {
  if (report.queriesPerClient <= 0) {
    throw new InfrastructureError(
      'mysqlslap reported 0 queries per client, so no rate can be computed: give the workload ' +
        'numberOfQueries (mysqlslap --number-of-queries)',
    );
  }
  if (report.avgSec <= 0) {
    throw new InfrastructureError(
      `mysqlslap reported ${report.avgSec} seconds per iteration (its resolution is 1 ms): the run is too ` +
        'short to measure; raise numberOfQueries',
    );
  }
  const perIteration = report.clients * report.queriesPerClient;
  const rate = perIteration / report.avgSec;
  const total = perIteration * iterations;
  return {
    durationSec: report.avgSec * iterations,
    transactions: total,
    tps: rate,
    queries: total,
    qps: rate,
    queriesRead: null,
    queriesWrite: null,
    queriesOther: null,
    latencyMs: {
      min: null,
      avg: (report.avgSec / report.queriesPerClient) * 1000,
      max: null,
      p95: null,
      p99: null,
    },
    errors: 0,
    reconnects: 0,
    intervals: [],
  };
}
