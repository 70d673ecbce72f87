import { GATE_METRICS } from '../../proxy/src/contract.ts';
/**
 * The proxy's Prometheus endpoint, scraped before and after each measured run: counters only
 * ever grow, so their deltas say what the proxy did during the run.
 */
export type MetricSeries = Map<string, number>;

/**
 * Parses the Prometheus text format into `name{labels}` -> value, keeping counters (from # TYPE
 * lines, or by the _total suffix) and histogram/summary _count and _sum: the series whose deltas
 * mean something. Buckets, gauges and comments are skipped.
 */
export function parseCounters(text: string): MetricSeries {
  const types = new Map<string, string>();
  const series: MetricSeries = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const name = m[1]!;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    const base = name.replace(/_(count|sum|bucket|total)$/, '');
    const type = types.get(name) ?? types.get(base);
    const isCounter =
      type === 'counter' ||
      name.endsWith('_total') ||
      ((type === 'histogram' || type === 'summary') && /_(count|sum)$/.test(name));
    if (!isCounter) continue;
    series.set(`${name}${m[2] ?? ''}`, value);
  }
  return series;
}

/** after − before per series (a series new in `after` counts from 0). */
export function counterDeltas(before: MetricSeries, after: MetricSeries): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of after) out[key] = value - (before.get(key) ?? 0);
  return out;
}

/** Sum of a metric over all its label sets, or null when the metric does not exist. */
export function sumMetric(series: MetricSeries | Record<string, number>, name: string): number | null {
  const entries = series instanceof Map ? [...series] : Object.entries(series);
  let found = false;
  let sum = 0;
  for (const [key, value] of entries) {
    if (key === name || key.startsWith(`${name}{`)) {
      found = true;
      sum += value;
    }
  }
  return found ? sum : null;
}

export type Fetcher = (url: string, timeoutMs: number) => Promise<{ status: number; body: string }>;

export const realFetcher: Fetcher = async (url, timeoutMs) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text() };
};

export async function scrapeCounters(
  url: string,
  fetcher: Fetcher = realFetcher,
  timeoutMs = 5000,
): Promise<MetricSeries> {
  const { status, body } = await fetcher(url, timeoutMs);
  if (status !== 200) throw new Error(`GET ${url} answered HTTP ${status}`);
  return parseCounters(body);
}

/** The share of the driver's queries the proxy must have seen for the run to count. */
export const TRAFFIC_CHECK_MIN_SHARE = 0.95;

export const TRAFFIC_METRIC = GATE_METRICS.queries;

export interface TrafficCheck {
  expectedQueries: number;
  observedQueries: number;
  ok: boolean;
}

/** null when the proxy does not expose athena_queries_total (nothing to check against). */
export function trafficCheck(deltas: Record<string, number>, driverQueries: number): TrafficCheck | null {
  const observed = sumMetric(deltas, TRAFFIC_METRIC);
  if (observed === null) return null;
  return {
    expectedQueries: driverQueries,
    observedQueries: observed,
    ok: observed >= TRAFFIC_CHECK_MIN_SHARE * driverQueries,
  };
}
