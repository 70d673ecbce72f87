import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needsMoreWindows, relativeRangePct, settleState } from './settle.ts';

const rule = { windows: 6, tolerancePct: 0.5, maxWindows: 10 };

test('the warm-up windows are discarded once the last ones agree', () => {
  // Athena's shape after start: the first window about 2× the steady value, the second +7%.
  const values = [56_071, 28_961, 27_237, 26_967, 26_969, 27_100, 26_990, 27_050, 27_010];
  assert.equal(needsMoreWindows(values.slice(0, 7), rule), true, 'still trending down');
  assert.equal(needsMoreWindows(values.slice(0, 8), rule), false);
  const state = settleState(values, rule);
  assert.equal(state.settled, true);
  assert.equal(state.firstKept, 3);
  assert.ok(state.spreadPct! < 1);
});

test('a warm-up window that is the oldest of the last ones is not kept, though the halves agree', () => {
  // Measured: the base arm's first window, then five steady ones; the halves' medians differ 1.2%.
  const values = [55_043, 18_491, 18_508, 18_722, 18_515, 19_750];
  const loose = { windows: 6, tolerancePct: 2, maxWindows: 12 };
  assert.equal(settleState(values, loose).settled, false);
  assert.equal(settleState([...values, 18_530], loose).settled, true);
  assert.equal(settleState([...values, 18_530], loose).firstKept, 1);
});

test('one window with a major garbage collection does not hold a settled process up', () => {
  const state = settleState([30_000, 27_000, 27_050, 28_300, 26_980, 27_020, 27_040], rule);
  assert.equal(state.settled, true);
  assert.ok(state.spreadPct! > 4, 'the outlier is in the kept windows: the verdict sees it');
});

test('windows that keep drifting stop at the cap and say they did not settle', () => {
  const values = [100, 101, 102, 103, 104, 105, 106, 107, 108, 109];
  assert.equal(needsMoreWindows(values, rule), false);
  const state = settleState(values, rule);
  assert.equal(state.settled, false);
  assert.equal(state.firstKept, 4);
});

test('too few windows: not settled, nothing discarded yet', () => {
  assert.deepEqual(settleState([5, 5], rule), {
    settled: false,
    firstKept: 0,
    spreadPct: null,
    trendPct: null,
  });
  assert.equal(needsMoreWindows([5, 5], rule), true);
});

test('cut short by the budget: the warm-up in front is set aside and the rest gives a range', () => {
  const state = settleState([46_397, 29_548, 29_459, 29_718, 29_568], rule);
  assert.equal(state.settled, false);
  assert.equal(state.firstKept, 1);
  assert.ok(state.spreadPct! > 0.8 && state.spreadPct! < 0.9, `spread ${state.spreadPct}`);
  // Three windows are the least that give a range: none is set aside below that.
  assert.deepEqual(settleState([100, 50, 50], rule), {
    settled: false,
    firstKept: 0,
    spreadPct: 100,
    trendPct: null,
  });
});

test('the range is relative to the median', () => {
  assert.equal(relativeRangePct([99, 100, 101]), 2);
  assert.equal(relativeRangePct([0, 0]), 0);
});
