/**
 * Distribution-free statistics for small samples of benchmark rounds: medians, the Mann–Whitney U
 * test, the Hodges–Lehmann shift estimate with its confidence interval, and Holm's correction.
 *
 * Conventions follow R's wilcox.test so results can be checked against it: U (R's "W") is the
 * Mann–Whitney statistic of x, i.e. the number of pairs (x_i, y_j) with x_i > y_j, ties counting ½.
 * The exact null distribution is used when both samples have fewer than 50 values and there are
 * no ties; otherwise the normal approximation with tie and continuity correction.
 */

/** Median of a non-empty sample (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** The median, or null for an empty sample (a report shows a dash where there is nothing). */
export function medianOrNull(values: readonly number[]): number | null {
  return values.length === 0 ? null : median(values);
}

/**
 * The q-quantile with linear interpolation between order statistics (R's type 7, the default of
 * R and NumPy). Throws on an empty sample: a statistic of nothing is a bug upstream.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('quantile of an empty sample');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile q must be within [0, 1], got ${q}`);
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (h - lo) * (b - a);
}

/** Ranks 1..n with ties sharing their average rank. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const out = new Array<number>(values.length);
  let start = 0;
  while (start < order.length) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]!.v === order[start]!.v) end++;
    const avg = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) out[order[k]!.i] = avg;
    start = end + 1;
  }
  return out;
}

/** Sizes of the groups of tied values (only groups of 2 or more). */
function tieGroups(values: readonly number[]): number[] {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.values()].filter((c) => c > 1);
}

/**
 * Null distribution of U for sample sizes n and m without ties: counts[u] = number of the
 * C(n+m, n) equally likely rank arrangements giving U = u. Built with the recursion
 * c(i, j, u) = c(i−1, j, u−j) + c(i, j−1, u) (the largest value is an x, or a y), additions
 * only, so tail counts stay exact in floating point far beyond what 50 × 50 needs.
 */
export function mannWhitneyNullCounts(n: number, m: number): number[] {
  // prev[j] is the count array for (i − 1, j); cur[j] for (i, j).
  let prev: number[][] = [];
  for (let j = 0; j <= m; j++) prev.push([1]); // i = 0: U is always 0
  for (let i = 1; i <= n; i++) {
    const cur: number[][] = [[1]]; // j = 0: U is always 0
    for (let j = 1; j <= m; j++) {
      const size = i * j + 1;
      const row = new Array<number>(size).fill(0);
      const fromPrev = prev[j]!; // the largest value is an x: it beats all j y's
      for (let u = 0; u < fromPrev.length; u++) row[u + j] = row[u + j]! + fromPrev[u]!;
      const fromLeft = cur[j - 1]!; // the largest value is a y: it adds nothing to U
      for (let u = 0; u < fromLeft.length; u++) row[u] = row[u]! + fromLeft[u]!;
      cur.push(row);
    }
    prev = cur;
  }
  return prev[m]!;
}

const exactCache = new Map<string, { cdf: number[]; total: number }>();

/** P(U <= u) under the null for sizes n, m (exact, no ties). */
export function mannWhitneyCdf(u: number, n: number, m: number): number {
  const key = `${n},${m}`;
  let entry = exactCache.get(key);
  if (!entry) {
    const counts = mannWhitneyNullCounts(n, m);
    const total = counts.reduce((s, c) => s + c, 0);
    const cdf: number[] = [];
    let acc = 0;
    for (const c of counts) cdf.push((acc += c));
    entry = { cdf, total };
    exactCache.set(key, entry);
  }
  if (u < 0) return 0;
  const k = Math.min(Math.floor(u), entry.cdf.length - 1);
  return entry.cdf[k]! / entry.total;
}

/** Smallest q with P(U <= q) >= p (R's qwilcox). */
export function mannWhitneyQuantile(p: number, n: number, m: number): number {
  for (let q = 0; q <= n * m; q++) if (mannWhitneyCdf(q, n, m) >= p - 1e-12) return q;
  return n * m;
}

/** Standard normal CDF (via erfc; absolute error < 1.2e-7, ample for p-values and quantiles here). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

function erfc(x: number): number {
  // Numerical Recipes' erfcc: Chebyshev fit, fractional error < 1.2e-7 everywhere.
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Inverse of the standard normal CDF (bisection on normalCdf: only used for a few fixed levels). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile p must be within (0, 1), got ${p}`);
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface MannWhitneyResult {
  /** R's W: pairs with x > y, ties ½. */
  u: number;
  /** P-value of the two-sided test of "no shift". */
  pTwoSided: number;
  /** P-value of "x tends to be greater than y". */
  pGreater: number;
  /** P-value of "x tends to be less than y". */
  pLess: number;
  method: 'exact' | 'normal';
}

/**
 * Mann–Whitney U (Wilcoxon rank-sum) test of x against y. `exact` defaults to R's rule (both
 * samples < 50 and no ties); `correct` (continuity correction of the normal approximation)
 * defaults to true, as in R. Identical samples (all values equal) give p = 1.
 */
export function mannWhitneyU(
  x: readonly number[],
  y: readonly number[],
  options: { exact?: boolean; correct?: boolean } = {},
): MannWhitneyResult {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) throw new RangeError('Mann–Whitney U needs at least one value in each sample');
  const all = [...x, ...y];
  const r = ranks(all);
  let rankSumX = 0;
  for (let i = 0; i < n; i++) rankSumX += r[i]!;
  const u = rankSumX - (n * (n + 1)) / 2;
  const ties = tieGroups(all);
  const exact = options.exact ?? (n < 50 && m < 50 && ties.length === 0);
  if (exact) {
    const pLess = mannWhitneyCdf(u, n, m);
    const pGreater = 1 - mannWhitneyCdf(u - 1, n, m);
    // R: p = 2 × the smaller tail, capped at 1 (the null distribution is symmetric).
    const pTwoSided = Math.min(1, 2 * Math.min(pLess, pGreater));
    return { u, pTwoSided, pGreater, pLess, method: 'exact' };
  }
  const correct = options.correct ?? true;
  const tieTerm = ties.reduce((s, t) => s + (t * t * t - t), 0) / ((n + m) * (n + m - 1));
  const sigma = Math.sqrt(((n * m) / 12) * (n + m + 1 - tieTerm));
  const centred = u - (n * m) / 2;
  if (sigma === 0) return { u, pTwoSided: 1, pGreater: 1, pLess: 1, method: 'normal' };
  const cc = correct ? 0.5 : 0;
  const pGreater = 1 - normalCdf((centred - cc) / sigma);
  const pLess = normalCdf((centred + cc) / sigma);
  const zTwo = (centred - (correct ? Math.sign(centred) * 0.5 : 0)) / sigma;
  const pTwoSided = Math.min(1, 2 * Math.min(normalCdf(zTwo), 1 - normalCdf(zTwo)));
  return { u, pTwoSided, pGreater, pLess, method: 'normal' };
}

/**
 * The smallest two-sided p-value the exact Mann–Whitney test can produce with samples of n and m
 * values: both extreme arrangements out of C(n+m, n). With n = m = 2 it is 2/6 = 0.333.
 */
export function minimumTwoSidedP(n: number, m: number): number {
  if (n === 0 || m === 0) return 1;
  // 2 / C(n+m, n), computed as a product to stay finite.
  let inv = 1;
  const k = Math.min(n, m);
  for (let i = 1; i <= k; i++) inv *= i / (n + m - k + i);
  return Math.min(1, 2 * inv);
}

/** The smallest one-sided p-value of the exact test: one extreme arrangement, 1 / C(n+m, n). */
export function minimumOneSidedP(n: number, m: number): number {
  return n === 0 || m === 0 ? 1 : minimumTwoSidedP(n, m) / 2;
}

export interface ShiftEstimate {
  /** Hodges–Lehmann estimate of the shift x − y: the median of all pairwise differences. */
  estimate: number;
  /** Lower and upper ends of the confidence interval of the shift. */
  low: number;
  high: number;
  /** Confidence the interval actually achieves (discrete for small samples; may fall short). */
  achievedLevel: number;
  method: 'exact' | 'normal';
}

/**
 * Hodges–Lehmann shift of x relative to y with its distribution-free confidence interval,
 * inverted from the Mann–Whitney distribution (Hollander & Wolfe; R's wilcox.test(conf.int=TRUE)
 * for the exact case): with the n·m pairwise differences D(1) <= … <= D(nm) and C the
 * largest count with 2·P(U < C) <= 1 − level, the interval is [D(C), D(nm + 1 − C)]. When even the
 * full range of differences cannot reach the level (tiny samples) the interval is that full range
 * and `achievedLevel` says how much it covers. Large or tied samples use the normal approximation
 * C = floor(nm/2 − z·σ + ½), σ with the tie correction.
 */
export function hodgesLehmann(
  x: readonly number[],
  y: readonly number[],
  level = 0.95,
  options: { exact?: boolean } = {},
): ShiftEstimate {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) throw new RangeError('Hodges–Lehmann needs at least one value in each sample');
  const diffs: number[] = [];
  for (const a of x) for (const b of y) diffs.push(a - b);
  diffs.sort((a, b) => a - b);
  const nm = diffs.length;
  const estimate = median(diffs);
  const alpha = 1 - level;
  const ties = tieGroups([...x, ...y]);
  const exact = options.exact ?? (n < 50 && m < 50 && ties.length === 0);
  let c: number;
  let achievedLevel: number;
  if (exact) {
    // qwilcox(alpha/2): the smallest q with P(U <= q) >= alpha/2; R then uses D(q) as lower end
    // (with q = 0 meaning the level is unreachable: take the full range).
    const q = mannWhitneyQuantile(alpha / 2, n, m);
    c = Math.max(1, q);
    achievedLevel = 1 - 2 * mannWhitneyCdf(c - 1, n, m);
  } else {
    const tieTerm = ties.reduce((s, t) => s + (t * t * t - t), 0) / ((n + m) * (n + m - 1));
    const sigma = Math.sqrt(((n * m) / 12) * (n + m + 1 - tieTerm));
    const z = normalQuantile(1 - alpha / 2);
    c = Math.max(1, Math.floor(nm / 2 - z * sigma + 0.5));
    achievedLevel = sigma === 0 ? 1 : Math.min(1, 2 * normalCdf((nm / 2 - (c - 1) - 0.5) / sigma) - 1);
  }
  c = Math.min(c, Math.ceil(nm / 2));
  return {
    estimate,
    low: diffs[c - 1]!,
    high: diffs[nm - c]!,
    achievedLevel,
    method: exact ? 'exact' : 'normal',
  };
}

/**
 * Holm–Bonferroni adjusted p-values, in the input order: sort ascending, adj(i) =
 * max over j <= i of min(1, (k − j + 1)·p(j)). `familySize` (>= p.length) counts tests not run
 * yet as p = 1, so a partial family is never corrected less than the final one will be.
 */
export function holmAdjust(pValues: readonly number[], familySize = pValues.length): number[] {
  const k = Math.max(familySize, pValues.length);
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const out = new Array<number>(pValues.length);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (k - rank) * p));
    out[i] = running;
  });
  return out;
}

/**
 * Smallest number of rounds n (with the other sample of `otherSize` values, or also n when
 * omitted) for which the exact one-sided test can reach p <= alpha / comparisons, i.e. the least
 * that can ever be significant after Holm's correction over `comparisons` tests.
 */
export function minimumRoundsForSignificance(alpha: number, comparisons: number, otherSize?: number): number {
  const target = alpha / Math.max(1, comparisons);
  for (let n = 1; n <= 500; n++) {
    if (minimumOneSidedP(n, otherSize ?? n) <= target) return n;
  }
  return Infinity;
}
