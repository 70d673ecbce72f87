import { InfrastructureError } from '../../util/errors.ts';
import type { DriverMetrics } from '../../results/schema.ts';
import { tailLines } from '../../util/exec.ts';

/**
 * Parsers for sysbench's text output: 1.0.x (system or bundled LuaJIT; "General statistics:" block)
 * and 1.1 ("Throughput:" block), intermediate `[ 1s ] thds: …` lines (the C reporter's
 * `err/s: ` and the Lua `sysbench.report_default`'s `err/s `), and the `--histogram` table.
 *
 * Anything not recognised fails loudly with an InfrastructureError naming what was missing and
 * the tail of the output: a benchmark number is never invented from output we did not understand.
 */

export interface SysbenchVersion {
  /** e.g. "1.0.20" or "1.1.0". */
  version: string;
  /** Build suffix such as "-faaff4f", or "". */
  build: string;
  /** "system" or "bundled" LuaJIT, when printed. */
  luajit: 'system' | 'bundled' | null;
  luajitVersion: string | null;
}

export interface SysbenchInterval {
  tSec: number;
  threads: number;
  tps: number;
  qps: number;
  readQps: number;
  writeQps: number;
  otherQps: number;
  /** The latency percentile the line reports (the run's --percentile). */
  latencyPercentile: number;
  latencyMs: number;
  errorsPerSec: number;
  reconnectsPerSec: number;
}

export interface SysbenchHistogramBucket {
  valueMs: number;
  count: number;
}

export interface SysbenchReport {
  version: SysbenchVersion | null;
  queries: { read: number; write: number; other: number; total: number };
  transactions: number;
  tps: number;
  qps: number;
  ignoredErrors: number;
  reconnects: number;
  totalTimeSec: number;
  totalEvents: number;
  latencyMs: {
    min: number;
    avg: number;
    max: number;
    sum: number | null;
    /** Percentile -> value, as printed ("95th percentile", "999th percentile" = 99.9). */
    percentiles: Map<number, number>;
  };
  intervals: SysbenchInterval[];
  /** The --histogram table, when printed. */
  histogram: SysbenchHistogramBucket[] | null;
}

const NUM = String.raw`(\d+(?:\.\d+)?)`;

const VERSION_RE = /^sysbench (\d+\.\d+\.\d+)(\S*)(?: \(using (system|bundled) LuaJIT ([^)]+)\))?\s*$/m;

const INTERVAL_RE = new RegExp(
  String.raw`^\[\s*${NUM}s\s*\]\s+thds:\s*(\d+)\s+tps:\s*${NUM}\s+qps:\s*${NUM}\s+` +
    String.raw`\(r/w/o:\s*${NUM}/${NUM}/${NUM}\)\s+lat\s+\(ms,${NUM}%\):\s*${NUM}\s+` +
    String.raw`err/s:?\s*${NUM}\s+reconn/s:?\s*${NUM}`,
);

export function parseSysbenchVersion(text: string): SysbenchVersion | null {
  const m = VERSION_RE.exec(text);
  if (!m) return null;
  return {
    version: m[1]!,
    build: m[2] ?? '',
    luajit: (m[3] as 'system' | 'bundled' | undefined) ?? null,
    luajitVersion: m[4] ?? null,
  };
}

/** Whether this sysbench understands --warmup-time (added after 1.0.x, in 1.1). */
export function supportsWarmupTime(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 1 || (major === 1 && minor >= 1);
}

/** One intermediate report line, or null when the line is something else. */
export function parseSysbenchIntervalLine(line: string): SysbenchInterval | null {
  const m = INTERVAL_RE.exec(line.trim());
  if (!m) return null;
  const n = (i: number) => Number(m[i]);
  return {
    tSec: n(1),
    threads: n(2),
    tps: n(3),
    qps: n(4),
    readQps: n(5),
    writeQps: n(6),
    otherQps: n(7),
    latencyPercentile: n(8),
    latencyMs: n(9),
    errorsPerSec: n(10),
    reconnectsPerSec: n(11),
  };
}

/** Collects `FATAL:` lines: sysbench prints them for connection, SQL and option errors. */
export function sysbenchFatalLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('FATAL:') || /^invalid option:/.test(l));
}

function fail(what: string, text: string): never {
  const tail = text.trim() === '' ? '(empty output)' : tailLines(text, 25);
  throw new InfrastructureError(
    `sysbench output not understood: ${what}. Last lines of the output:\n${tail}`,
  );
}

/** The value after `label:` on its own line (`    read:      35336`), or undefined. */
function field(block: string, label: string, suffix = ''): number | undefined {
  const re = new RegExp(String.raw`^\s*${escapeRegExp(label)}:\s+${NUM}${escapeRegExp(suffix)}`, 'm');
  const m = re.exec(block);
  return m ? Number(m[1]) : undefined;
}

/** `transactions:   2519   (835.69 per sec.)` -> [2519, 835.69]. */
function countAndRate(block: string, label: string): [number, number] | undefined {
  const re = new RegExp(String.raw`^\s*${escapeRegExp(label)}:\s+${NUM}\s+\(${NUM} per sec\.\)`, 'm');
  const m = re.exec(block);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The lines of a section from its header line to the next blank line. */
function section(text: string, header: string): string | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === header);
  if (start < 0) return undefined;
  const out: string[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') break;
    out.push(line);
  }
  return out.join('\n');
}

function parseHistogram(text: string): SysbenchHistogramBucket[] | null {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Latency histogram'));
  if (start < 0) return null;
  const buckets: SysbenchHistogramBucket[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*value\s+-+/.test(line)) continue;
    const m = /^\s*(\d+(?:\.\d+)?)\s+\|[*\s]*?(\d+)\s*$/.exec(line);
    if (!m) break;
    buckets.push({ valueMs: Number(m[1]), count: Number(m[2]) });
  }
  return buckets;
}

/**
 * The percentile of a histogram the way sysbench computes its own (sb_histogram_getpct): the
 * first bucket at which the cumulative count reaches pct% of the total.
 */
export function histogramPercentile(buckets: readonly SysbenchHistogramBucket[], pct: number): number | null {
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  if (total === 0) return null;
  const target = (total * pct) / 100;
  let cumulative = 0;
  for (const bucket of buckets) {
    cumulative += bucket.count;
    if (cumulative >= target) return bucket.valueMs;
  }
  return buckets[buckets.length - 1]?.valueMs ?? null;
}

/** Parses a complete `sysbench … run` output. Throws InfrastructureError on anything incomplete. */
export function parseSysbenchOutput(text: string): SysbenchReport {
  if (text.trim() === '') fail('the output is empty', text);
  const fatal = sysbenchFatalLines(text);
  if (fatal.length > 0) {
    throw new InfrastructureError(
      `sysbench failed: ${[...new Set(fatal)].join(' | ')}. Last lines of the output:\n${tailLines(text, 25)}`,
    );
  }
  const sql = sqlStatistics(text);
  return {
    version: parseSysbenchVersion(text),
    ...sql,
    ...generalStatistics(text),
    latencyMs: latencyStatistics(text),
    intervals: text
      .split('\n')
      .map(parseSysbenchIntervalLine)
      .filter((i): i is SysbenchInterval => i !== null),
    histogram: parseHistogram(text),
  };
}

/** The "SQL statistics:" block: query counts, transactions, rates, errors, reconnects. */
function sqlStatistics(
  text: string,
): Pick<SysbenchReport, 'queries' | 'transactions' | 'tps' | 'qps' | 'ignoredErrors' | 'reconnects'> {
  const sql = section(text, 'SQL statistics:');
  if (sql === undefined) fail('no "SQL statistics:" block (the run did not finish)', text);
  const read = field(sql, 'read');
  const write = field(sql, 'write');
  const other = field(sql, 'other');
  const total = field(sql, 'total');
  const transactions = countAndRate(sql, 'transactions');
  const queries = countAndRate(sql, 'queries');
  const ignored = countAndRate(sql, 'ignored errors');
  const reconnects = countAndRate(sql, 'reconnects');
  const missingSql = (
    [
      ['queries performed: read', read],
      ['queries performed: write', write],
      ['queries performed: other', other],
      ['queries performed: total', total],
      ['transactions', transactions],
      ['queries', queries],
      ['ignored errors', ignored],
      ['reconnects', reconnects],
    ] as const
  ).filter(([, v]) => v === undefined);
  if (missingSql.length > 0) {
    fail(`"SQL statistics:" lacks ${missingSql.map(([name]) => `"${name}"`).join(', ')}`, text);
  }
  return {
    queries: { read: read!, write: write!, other: other!, total: total! },
    transactions: transactions![0],
    tps: transactions![1],
    qps: queries![1],
    ignoredErrors: ignored![0],
    reconnects: reconnects![0],
  };
}

/** The run's time and event count. */
function generalStatistics(text: string): Pick<SysbenchReport, 'totalTimeSec' | 'totalEvents'> {
  // 1.0.x: "General statistics:" with "total time:"; 1.1: "Throughput:" with "time elapsed:".
  const general = section(text, 'General statistics:') ?? section(text, 'Throughput:');
  if (general === undefined) fail('neither a "General statistics:" nor a "Throughput:" block', text);
  const totalTimeSec = field(general, 'total time', 's') ?? field(general, 'time elapsed', 's');
  const totalEvents = field(general, 'total number of events');
  if (totalTimeSec === undefined) fail('no "total time:" / "time elapsed:" line', text);
  if (totalEvents === undefined) fail('no "total number of events:" line', text);
  return { totalTimeSec, totalEvents };
}

/** The "Latency (ms):" block: min/avg/max/sum and every printed percentile. */
function latencyStatistics(text: string): SysbenchReport['latencyMs'] {
  const latency = section(text, 'Latency (ms):');
  if (latency === undefined) fail('no "Latency (ms):" block', text);
  const min = field(latency, 'min');
  const avg = field(latency, 'avg');
  const max = field(latency, 'max');
  const sum = field(latency, 'sum');
  if (min === undefined || avg === undefined || max === undefined) {
    fail('the "Latency (ms):" block lacks min/avg/max', text);
  }
  const percentiles = new Map<number, number>();
  for (const m of latency.matchAll(new RegExp(String.raw`^\s*(\d+)th percentile:\s+${NUM}`, 'gm'))) {
    let pct = Number(m[1]);
    while (pct > 100) pct /= 10; // "999th percentile" is the 99.9th
    percentiles.set(pct, Number(m[2]));
  }
  if (percentiles.size === 0) fail('the "Latency (ms):" block has no "Nth percentile:" line', text);
  return { min, avg, max, sum: sum ?? null, percentiles };
}

/**
 * DriverMetrics from a parsed report. p95/p99 come from the --histogram table when its count equals
 * the run's event count (so it describes exactly the measured events), computed as sysbench does
 * but kept to the table's three decimals: the printed "Nth percentile" line has two, and at one
 * client thread a point select's p95 is ~0.1 ms, where 0.01 ms is a 10% step, more than the
 * round-to-round noise the added-latency gate must see through. Without the table, the printed line.
 */
export function sysbenchMetrics(report: SysbenchReport): DriverMetrics {
  const fromHistogram = (pct: number): number | null => {
    const h = report.histogram;
    if (!h || h.length === 0) return null;
    const count = h.reduce((s, b) => s + b.count, 0);
    return count === report.totalEvents ? histogramPercentile(h, pct) : null;
  };
  const pct = (p: number) => fromHistogram(p) ?? report.latencyMs.percentiles.get(p) ?? null;
  if (report.transactions === 0 || report.totalEvents === 0) {
    throw new InfrastructureError(
      'sysbench completed 0 transactions: nothing was measured (is the server or proxy answering?)',
    );
  }
  return {
    durationSec: report.totalTimeSec,
    transactions: report.transactions,
    tps: report.tps,
    queries: report.queries.total,
    qps: report.qps,
    queriesRead: report.queries.read,
    queriesWrite: report.queries.write,
    queriesOther: report.queries.other,
    latencyMs: {
      min: report.latencyMs.min,
      avg: report.latencyMs.avg,
      max: report.latencyMs.max,
      p95: pct(95),
      p99: pct(99),
    },
    errors: report.ignoredErrors,
    reconnects: report.reconnects,
    intervals: report.intervals.map((i) => ({
      tSec: i.tSec,
      tps: i.tps,
      qps: i.qps,
      latencyMs: i.latencyMs,
      errors: i.errorsPerSec,
    })),
  };
}
