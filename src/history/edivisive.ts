/**
 * E-divisive with means (Matteson & James, "A Nonparametric Approach for Multiple Change Point
 * Analysis of Multivariate Data", JASA 2014), the method behind MongoDB's and Apache Otava's
 * performance change-point detection, for one univariate series with exponent α = 1.
 *
 * Hierarchical: the best split of the best segment is proposed, and kept when a permutation test
 * (values shuffled within each current segment, the statistic recomputed) finds it significant;
 * then the next, until a proposal is not significant. The shuffles come from a seeded PRNG, so the
 * same series and seed always give the same answer.
 */

export interface EDivisiveOptions {
  /** Significance level of each permutation test. */
  significance: number;
  /** Permutations per test; the smallest reachable p-value is 1 / (permutations + 1). */
  permutations: number;
  /** Fewest points on either side of a change point. */
  minSegment: number;
  seed: number;
}

export interface ChangePointIndex {
  /** Index of the first point after the change. */
  index: number;
  /** Permutation p-value of the test that accepted it. */
  pValue: number;
}

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; plenty for shuffles. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Stable 32-bit hash of a string (FNV-1a), to derive one seed per series. */
export function hashSeed(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export interface Split {
  /** Size of the left part: the split is between values[at − 1] and values[at]. */
  at: number;
  statistic: number;
}

/** A segment's values in sorted order with prefix sums: the same for every shuffle of the segment. */
export interface Prepared {
  /** Rank of each value (0-based; ties broken by position, which leaves every distance unchanged). */
  ranks: Int32Array;
  sorted: Float64Array;
  /** prefix[k] = sorted[0] + … + sorted[k − 1]. */
  prefix: Float64Array;
}

export function prepare(values: ArrayLike<number>): Prepared {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]! || a - b);
  const ranks = new Int32Array(n);
  const sorted = new Float64Array(n);
  const prefix = new Float64Array(n + 1);
  order.forEach((index, rank) => {
    ranks[index] = rank;
    sorted[rank] = values[index]!;
    prefix[rank + 1] = prefix[rank]! + values[index]!;
  });
  return { ranks, sorted, prefix };
}

/**
 * The split of `values` maximising the scaled energy distance
 * Q = (m·r / (m + r)) · (2/(m·r) Σ|xᵢ − yⱼ| − Σ_{i<k}|xᵢ − xₖ| / C(m,2) − Σ_{j<k}|yⱼ − yₖ| / C(r,2)),
 * with at least `minSegment` (>= 2) values on each side.
 */
export function bestSplit(values: ArrayLike<number>, minSegment: number): Split | null {
  return scanSplits(values, prepare(values), minSegment);
}

/**
 * O(n log n): moving the split one step moves value v from the right part to the left, which
 * changes the three sums by v's distances to the values on its left and on its right. The sum of
 * v's distances to all values comes from the sorted prefix sums; to the values already on the
 * left, from Fenwick trees (count and sum by rank) of the values moved so far.
 */
export function scanSplits(values: ArrayLike<number>, prepared: Prepared, minSegment: number): Split | null {
  const n = values.length;
  if (minSegment < 2) throw new RangeError('minSegment must be at least 2');
  if (n < 2 * minSegment) return null;
  const { ranks, sorted, prefix } = prepared;
  let within = 0;
  for (let k = 0; k < n; k++) within += sorted[k]! * k - prefix[k]!;
  const counts = new Int32Array(n + 1);
  const sums = new Float64Array(n + 1);
  let leftSum = 0;
  let cross = 0;
  let left = 0;
  let right = within;
  let best: Split | null = null;
  for (let t = 0; t < n - minSegment; t++) {
    const v = values[t]!;
    const rank = ranks[t]!;
    const toAll = v * rank - prefix[rank]! + (prefix[n]! - prefix[rank + 1]!) - v * (n - rank - 1);
    let below = 0;
    let belowSum = 0;
    for (let i = rank; i > 0; i -= i & -i) {
      below += counts[i]!;
      belowSum += sums[i]!;
    }
    const toLeft = v * below - belowSum + (leftSum - belowSum) - v * (t - below);
    const toRight = toAll - toLeft;
    for (let i = rank + 1; i <= n; i += i & -i) {
      counts[i]!++;
      sums[i] = sums[i]! + v;
    }
    leftSum += v;
    left += toLeft;
    right -= toRight;
    cross += toRight - toLeft;
    const m = t + 1;
    const r = n - m;
    if (m < minSegment) continue;
    const energy = (2 * cross) / (m * r) - left / ((m * (m - 1)) / 2) - right / ((r * (r - 1)) / 2);
    const statistic = ((m * r) / (m + r)) * energy;
    if (best === null || statistic > best.statistic) best = { at: m, statistic };
  }
  return best;
}

function shuffle(values: Int32Array, random: () => number): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = values[i]!;
    values[i] = values[j]!;
    values[j] = swap;
  }
}

/** Best split over all segments (boundaries: sorted, starting with 0 and ending with n). */
function bestOverSegments(
  values: readonly number[],
  bounds: readonly number[],
  minSegment: number,
): { start: number; split: Split } | null {
  let best: { start: number; split: Split } | null = null;
  for (let s = 0; s + 1 < bounds.length; s++) {
    const start = bounds[s]!;
    const split = bestSplit(values.slice(start, bounds[s + 1]), minSegment);
    if (split && (best === null || split.statistic > best.split.statistic)) best = { start, split };
  }
  return best;
}

/**
 * P-value of the observed best statistic against shuffles within each segment. Stops early once
 * the p-value can no longer fall to the significance level (most tests on step-free data end
 * after a handful of permutations).
 */
function permutationPValue(
  values: readonly number[],
  bounds: readonly number[],
  observed: number,
  options: EDivisiveOptions,
  random: () => number,
): number {
  const { permutations, significance, minSegment } = options;
  const segments = bounds.slice(1).map((end, s) => {
    const part = values.slice(bounds[s], end);
    const prepared = prepare(part);
    const order = Int32Array.from(part, (_, i) => i);
    return {
      part,
      prepared,
      order,
      shuffled: new Float64Array(part.length),
      ranks: new Int32Array(part.length),
    };
  });
  let atLeast = 0;
  for (let r = 1; r <= permutations; r++) {
    let best = -Infinity;
    for (const seg of segments) {
      // Shuffling positions keeps the segment's sorted values: only the ranks move with them.
      shuffle(seg.order, random);
      seg.order.forEach((from, i) => {
        seg.shuffled[i] = seg.part[from]!;
        seg.ranks[i] = seg.prepared.ranks[from]!;
      });
      const split = scanSplits(seg.shuffled, { ...seg.prepared, ranks: seg.ranks }, minSegment);
      if (split) best = Math.max(best, split.statistic);
    }
    if (best >= observed) atLeast++;
    if ((atLeast + 1) / (permutations + 1) > significance) return (atLeast + 1) / (r + 1);
  }
  return (atLeast + 1) / (permutations + 1);
}

/** The significant change points of a series, by index, in order. */
export function eDivisive(values: readonly number[], options: EDivisiveOptions): ChangePointIndex[] {
  const random = seededRandom(options.seed);
  const found: ChangePointIndex[] = [];
  const bounds = [0, values.length];
  for (;;) {
    const best = bestOverSegments(values, bounds, options.minSegment);
    if (!best) break;
    const pValue = permutationPValue(values, bounds, best.split.statistic, options, random);
    if (pValue > options.significance) break;
    const index = best.start + best.split.at;
    found.push({ index, pValue });
    bounds.push(index);
    bounds.sort((a, b) => a - b);
  }
  return found.sort((a, b) => a.index - b.index);
}
