// Change-point detection: E-divisive with means, its permutation test and the minimum magnitude.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DETECT_OPTIONS, detectChangePoints, seriesOf } from './detect.ts';
import { bestSplit, eDivisive, seededRandom } from './edivisive.ts';
import { syntheticHistory, syntheticSeries, syntheticSha } from '../../test/helpers/series.ts';

/** Q at every split, straight from the definition (O(n³)), to check the fast scan against. */
function bruteForceSplit(values: number[], minSegment: number) {
  let best = { at: -1, statistic: -Infinity };
  for (let m = minSegment; m <= values.length - minSegment; m++) {
    const x = values.slice(0, m);
    const y = values.slice(m);
    const r = y.length;
    let cross = 0;
    for (const a of x) for (const b of y) cross += Math.abs(a - b);
    const within = (v: number[]) => {
      let s = 0;
      for (let i = 0; i < v.length; i++) for (let k = i + 1; k < v.length; k++) s += Math.abs(v[i]! - v[k]!);
      return s / ((v.length * (v.length - 1)) / 2);
    };
    const q = ((m * r) / (m + r)) * ((2 * cross) / (m * r) - within(x) - within(y));
    if (q > best.statistic) best = { at: m, statistic: q };
  }
  return best;
}

test('the O(n log n) best split equals the definition, ties included', () => {
  const random = seededRandom(42);
  for (let trial = 0; trial < 40; trial++) {
    // Odd trials draw from 4 values only: many ties.
    const draw = () => (trial % 2 ? Math.floor(random() * 4) : random() * 10 + (trial % 3));
    const values = Array.from({ length: 6 + trial }, draw);
    const fast = bestSplit(values, 2)!;
    const slow = bruteForceSplit(values, 2);
    assert.equal(fast.at, slow.at);
    assert.ok(Math.abs(fast.statistic - slow.statistic) < 1e-9 * Math.max(1, slow.statistic));
  }
  assert.equal(bestSplit([1, 2, 3], 2), null);
});

test('a 3% step in 1% noise is reported at its commit, with before/after medians and size', () => {
  const k = 25;
  for (const seed of [1, 2, 3, 4, 5]) {
    const values = syntheticSeries({ length: 40, noise: 0.01, seed, step: 0.03, stepAt: k });
    const found = detectChangePoints(
      [syntheticHistory('s', { cpu_us_per_query: values })],
      DEFAULT_DETECT_OPTIONS,
    );
    assert.equal(found.length, 1, `seed ${seed}: ${JSON.stringify(found)}`);
    const cp = found[0]!;
    const at = Array.from({ length: 40 }, (_, i) => syntheticSha(i)).indexOf(cp.commit);
    assert.ok(Math.abs(at - k) <= 1, `seed ${seed}: at ${at}`);
    assert.equal(cp.previousCommit, syntheticSha(at - 1));
    assert.ok(Math.abs(cp.before.median - 100) < 1.5 && Math.abs(cp.after.median - 103) < 1.5);
    assert.ok(cp.shift > 2 && cp.shift < 4 && cp.unit === '%', `shift ${cp.shift}`);
    assert.equal(cp.direction, 'worse', 'more CPU per query is worse');
    assert.ok(cp.pValue <= DEFAULT_DETECT_OPTIONS.significance);
  }
});

test('20 step-free series with 8% noise report no change point', () => {
  const metrics = Object.fromEntries(
    Array.from({ length: 20 }, (_, s) => [
      `m${s}`,
      syntheticSeries({ length: 40, noise: 0.08, seed: 100 + s }),
    ]),
  );
  const history = syntheticHistory('s', metrics);
  assert.equal(seriesOf(history).length, 20);
  assert.deepEqual(detectChangePoints([history], DEFAULT_DETECT_OPTIONS), []);
});

test('the permutation test is real: a looser level finds noise, the same seed gives the same answer', () => {
  const noisy = Array.from({ length: 60 }, (_, s) =>
    syntheticSeries({ length: 40, noise: 0.08, seed: 100 + s }),
  );
  const loose = { ...DEFAULT_DETECT_OPTIONS, significance: 0.2, permutations: 99 };
  const falseAlarms = noisy.map((v) => eDivisive(v, loose).length);
  assert.ok(
    falseAlarms.some((n) => n > 0),
    'at a 20% level some step-free series must show a change point',
  );
  assert.deepEqual(
    noisy.map((v) => eDivisive(v, loose)),
    noisy.map((v) => eDivisive(v, loose)),
  );
});

test('noise-free counts: steps located exactly, several per series; a constant series has none', () => {
  const counts = [...Array(10).fill(41_000), ...Array(10).fill(43_050), ...Array(10).fill(42_000)];
  const unknown = [...Array(15).fill(3), ...Array(15).fill(4)];
  const found = detectChangePoints(
    [
      syntheticHistory('s', {
        instructions_per_query: counts,
        frobs_per_query: unknown,
        constant: Array(30).fill(7),
      }),
    ],
    DEFAULT_DETECT_OPTIONS,
  );
  assert.deepEqual(
    found.map((c) => [c.metric, c.commit, Number(c.shift.toFixed(2)), c.direction]),
    [
      ['instructions_per_query', syntheticSha(10), 5, 'worse'],
      ['instructions_per_query', syntheticSha(20), -2.44, 'better'],
      // A metric the tool does not know has no direction.
      ['frobs_per_query', syntheticSha(15), 33.33, null],
    ],
  );
});

test('the minimum magnitude drops significant shifts too small to matter', () => {
  const values = syntheticSeries({ length: 40, noise: 0.0005, seed: 9, step: 0.005, stepAt: 20 });
  const history = syntheticHistory('s', { tps: values });
  assert.deepEqual(detectChangePoints([history], DEFAULT_DETECT_OPTIONS), []);
  const small = detectChangePoints([history], { ...DEFAULT_DETECT_OPTIONS, minMagnitude: 0.1 });
  assert.equal(small.length, 1);
  assert.equal(small[0]!.direction, 'better', 'more TPS is better');
});

test('a shift that coincides with a new machine is flagged as such', () => {
  const values = [...Array(10).fill(100), ...Array(10).fill(120)];
  const history = syntheticHistory('s', { tps: values });
  for (const p of history.points.slice(10)) p.environment = { ...p.environment, fingerprint: '0123456789ab' };
  const [cp] = detectChangePoints([history], DEFAULT_DETECT_OPTIONS);
  assert.equal(cp!.environmentChanged, true);
});
