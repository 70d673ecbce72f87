/**
 * A latency histogram with logarithmic buckets (like sysbench's): constant memory whatever the
 * number of samples, percentiles within one bucket's width (about 1.8% with the defaults).
 */
export class LatencyHistogram {
  private readonly counts: Uint32Array;
  private readonly logMin: number;
  private readonly logRange: number;
  private total = 0;
  private sumMs = 0;
  private minMs = Number.POSITIVE_INFINITY;
  private maxMs = 0;

  constructor(
    private readonly lowestMs = 0.001,
    private readonly highestMs = 100_000,
    private readonly buckets = 1024,
  ) {
    this.counts = new Uint32Array(buckets);
    this.logMin = Math.log(lowestMs);
    this.logRange = Math.log(highestMs) - this.logMin;
  }

  record(ms: number): void {
    const value = Math.min(Math.max(ms, this.lowestMs), this.highestMs);
    const index = Math.min(
      this.buckets - 1,
      Math.floor(((Math.log(value) - this.logMin) / this.logRange) * this.buckets),
    );
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.total++;
    this.sumMs += ms;
    if (ms < this.minMs) this.minMs = ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  get count(): number {
    return this.total;
  }

  /** Upper bound of the bucket holding the pct-th percentile (never above the largest sample). */
  percentile(pct: number): number | null {
    if (this.total === 0) return null;
    const target = (this.total * pct) / 100;
    let cumulative = 0;
    for (let i = 0; i < this.buckets; i++) {
      cumulative += this.counts[i] ?? 0;
      if (cumulative >= target) {
        const upper = Math.exp(this.logMin + ((i + 1) / this.buckets) * this.logRange);
        return Math.min(upper, this.maxMs);
      }
    }
    return this.maxMs;
  }

  summary(): {
    min: number | null;
    avg: number | null;
    max: number | null;
    p95: number | null;
    p99: number | null;
  } {
    if (this.total === 0) return { min: null, avg: null, max: null, p95: null, p99: null };
    return {
      min: this.minMs,
      avg: this.sumMs / this.total,
      max: this.maxMs,
      p95: this.percentile(95),
      p99: this.percentile(99),
    };
  }
}
