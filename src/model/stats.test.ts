import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  hodgesLehmann,
  holmAdjust,
  mannWhitneyCdf,
  mannWhitneyNullCounts,
  mannWhitneyQuantile,
  mannWhitneyU,
  median,
  minimumRoundsForSignificance,
  minimumOneSidedP,
  minimumTwoSidedP,
  normalCdf,
  normalQuantile,
  quantile,
  ranks,
} from './stats.ts';

const close = (actual: number, expected: number, tol: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);

/** Independent check: enumerate every way to pick which n of the n+m ranks belong to x. */
function bruteForceUCounts(n: number, m: number): number[] {
  const counts = new Array<number>(n * m + 1).fill(0);
  const total = n + m;
  for (let mask = 0; mask < 1 << total; mask++) {
    let bits = 0;
    for (let b = 0; b < total; b++) if (mask & (1 << b)) bits++;
    if (bits !== n) continue;
    // U = Σ over x of (number of y below it) = rank sum of x − n(n+1)/2.
    let rankSum = 0;
    for (let b = 0; b < total; b++) if (mask & (1 << b)) rankSum += b + 1;
    counts[rankSum - (n * (n + 1)) / 2]!++;
  }
  return counts;
}

test('median and type-7 quantiles', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  // R: quantile(c(1, 2, 3, 4, 10), 0.9) = 4 + 0.6 * 6 = 7.6
  close(quantile([1, 2, 3, 4, 10], 0.9), 7.6, 1e-12);
  assert.equal(quantile([5, 1], 0), 1);
  assert.equal(quantile([5, 1], 1), 5);
  assert.throws(() => median([]), /empty/);
});

test('ranks average ties', () => {
  assert.deepEqual(ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
});

test('exact null distribution matches brute-force enumeration', () => {
  for (const [n, m] of [
    [1, 1],
    [2, 2],
    [3, 4],
    [5, 5],
    [4, 7],
  ] as const) {
    assert.deepEqual(mannWhitneyNullCounts(n, m), bruteForceUCounts(n, m), `n=${n} m=${m}`);
  }
});

test('minimum two-sided p: 2 / C(n+m, n)', () => {
  close(minimumTwoSidedP(2, 2), 1 / 3, 1e-12); // 2/6
  close(minimumTwoSidedP(3, 3), 0.1, 1e-12); // 2/20
  close(minimumTwoSidedP(5, 5), 2 / 252, 1e-12);
  close(minimumTwoSidedP(10, 3), 2 / 286, 1e-12);
  // The exact test reaches it for completely separated samples.
  close(mannWhitneyU([1, 2, 3], [4, 5, 6]).pTwoSided, 0.1, 1e-12);
  // One-sided, as the time channel tests: n = m = 3 and Holm over 1 test: 1/20 = 0.05; over 10
  // tests it needs 0.005: n = 5 (1/252).
  close(minimumOneSidedP(3, 3), 0.05, 1e-12);
  assert.equal(minimumRoundsForSignificance(0.05, 1), 3);
  assert.equal(minimumRoundsForSignificance(0.05, 10), 5);
  // against a baseline of 10 rounds: n = 3 gives 1/286 = 0.0035 <= 0.05/5 = 0.01 (n = 2: 1/66).
  assert.equal(minimumRoundsForSignificance(0.05, 5, 10), 3);
});

test("Mann–Whitney U on R's wilcox.test example (Hollander & Wolfe 1973, p. 69)", () => {
  // R:  x <- c(0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46)
  //     y <- c(1.15, 0.88, 0.90, 0.74, 1.21)
  //     wilcox.test(x, y, alternative = "g")                          # W = 35, p-value = 0.1272
  //     wilcox.test(x, y, alternative = "g", exact = F, correct = F)  # W = 35, p-value = 0.1103
  // By hand: x beats y in 35 of the 50 pairs; without correction z = (35 − 25)/sqrt(50·16/12)
  // = 1.2247 and 1 − Φ(1.2247) = 0.1103. Exact: P(U >= 35) = (brute-force count) / 3003.
  const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
  const y = [1.15, 0.88, 0.9, 0.74, 1.21];
  const exact = mannWhitneyU(x, y);
  assert.equal(exact.method, 'exact');
  assert.equal(exact.u, 35);
  close(exact.pGreater, 0.1272, 5e-5);
  const counts = bruteForceUCounts(10, 5);
  const upper = counts.slice(35).reduce((s, c) => s + c, 0) / 3003;
  close(exact.pGreater, upper, 1e-12);
  close(exact.pTwoSided, 2 * upper, 1e-12);
  const approx = mannWhitneyU(x, y, { exact: false, correct: false });
  close(approx.pGreater, 0.1103, 5e-5);
});

test('normal approximation with ties and continuity correction', () => {
  // x = [1, 2, 2, 3], y = [2, 3, 3, 4]: ranks of all 8 values: 1 → 1; 2 ×3 → 3; 3 ×3 → 6; 4 → 8.
  // Rank sum of x = 1 + 3 + 3 + 6 = 13, U = 13 − 10 = 3. Ties: groups of 3 and 3:
  // Σ(t³ − t) = 48; σ² = (16/12)·(9 − 48/56) = 10.857; z = (3 − 8 + 0.5)/3.295 = −1.3657;
  // p = 2Φ(−1.3657) = 0.1720 (R: wilcox.test(x, y) gives W = 3, p-value = 0.172 with a ties warning).
  const r = mannWhitneyU([1, 2, 2, 3], [2, 3, 3, 4]);
  assert.equal(r.method, 'normal');
  assert.equal(r.u, 3);
  close(r.pTwoSided, 0.172, 5e-4);
});

test('identical samples and single values', () => {
  const same = mannWhitneyU([5, 5, 5], [5, 5, 5]);
  assert.equal(same.pTwoSided, 1);
  const hl = hodgesLehmann([5, 5, 5], [5, 5, 5]);
  assert.deepEqual([hl.estimate, hl.low, hl.high], [0, 0, 0]);
  const one = mannWhitneyU([2], [1]);
  assert.equal(one.pTwoSided, 1);
  const hlOne = hodgesLehmann([2], [1]);
  assert.deepEqual([hlOne.estimate, hlOne.low, hlOne.high], [1, 1, 1]);
  assert.equal(hlOne.achievedLevel, 0); // a single pair covers nothing with confidence
  assert.throws(() => mannWhitneyU([], [1]), /at least one/);
});

test('Hodges–Lehmann estimate and exact interval', () => {
  // x = [11, 12, 13, 14, 15], y = [1, 2, 3, 4, 5]: 25 differences 6..14 (10 appears 5 times),
  // median 10. qwilcox(0.025, 5, 5) = 3 (P(U <= 2) = 4/252 < 0.025 <= P(U <= 3) = 7/252), so the
  // interval is [D(3), D(23)] = [7, 13] with achieved level 1 − 2·4/252 = 0.968.
  const hl = hodgesLehmann([11, 12, 13, 14, 15], [1, 2, 3, 4, 5]);
  assert.equal(hl.method, 'exact');
  assert.equal(hl.estimate, 10);
  assert.equal(mannWhitneyQuantile(0.025, 5, 5), 3);
  close(mannWhitneyCdf(2, 5, 5), 4 / 252, 1e-12);
  assert.deepEqual([hl.low, hl.high], [7, 13]);
  close(hl.achievedLevel, 1 - 8 / 252, 1e-12);
  // Tiny samples: the full range, and the level it really has (n = m = 3: 1 − 2/20).
  const tiny = hodgesLehmann([4, 5, 6], [1, 2, 3]);
  assert.deepEqual([tiny.low, tiny.high], [1, 5]);
  close(tiny.achievedLevel, 0.9, 1e-12);
});

test('Hodges–Lehmann interval covers the true shift in ≈95% of simulated trials', () => {
  // A seeded LCG so the test is deterministic; normal noise by Box–Muller.
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
  const gauss = () => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
  let covered = 0;
  const trials = 400;
  for (let t = 0; t < trials; t++) {
    const x = Array.from({ length: 8 }, () => 3 + gauss());
    const y = Array.from({ length: 8 }, () => gauss());
    const ci = hodgesLehmann(x, y);
    if (ci.low <= 3 && 3 <= ci.high) covered++;
  }
  // Achieved level for 8 × 8 is 0.95+; binomial sd over 400 trials ≈ 1.1%.
  assert.ok(covered / trials > 0.92 && covered / trials < 0.995, `coverage ${covered / trials}`);
});

test('normal CDF and quantile', () => {
  close(normalCdf(0), 0.5, 1e-7);
  close(normalCdf(1.959964), 0.975, 1e-6);
  close(normalQuantile(0.975), 1.959964, 1e-5);
});

test('Holm adjustment keeps input order and is monotone', () => {
  // p = [0.01, 0.04, 0.03, 0.005], k = 4. Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06,
  // 0.04·1 = 0.04 → max with previous = 0.06. Back in input order: [0.03, 0.06, 0.06, 0.02].
  const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
  [0.03, 0.06, 0.06, 0.02].forEach((e, i) => close(adj[i]!, e, 1e-12, `index ${i}`));
  // A partial family padded to 10 tests is corrected as strictly as the full one.
  close(holmAdjust([0.004], 10)[0]!, 0.04, 1e-12);
  // [0.5, 0.9]: 0.5·2 = 1, then 0.9·1 = 0.9 is lifted to the running maximum 1.
  assert.deepEqual(holmAdjust([0.5, 0.9]), [1, 1]);
});
