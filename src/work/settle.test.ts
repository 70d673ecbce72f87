import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needsMoreWindows, relativeRangePct, settleState } from './settle.ts';

const rule = { windows: 3, tolerancePct: 1, maxWindows: 6 };

test('the warm-up windows are discarded once the last ones agree', () => {
  // Athena's shape after start: the first window about 2× the steady value, the second +7%.
  const values = [56_071, 28_961, 27_237, 26_967, 26_969, 27_100];
  assert.equal(needsMoreWindows(values.slice(0, 5), rule), true);
  const state = settleState(values, rule);
  assert.equal(state.settled, true);
  assert.equal(state.firstKept, 3);
  assert.ok(state.spreadPct! < 1);
});

test('windows that never agree stop at the cap and say they did not settle', () => {
  const values = [100, 110, 100, 110, 100, 110];
  assert.equal(needsMoreWindows(values, rule), false);
  const state = settleState(values, rule);
  assert.equal(state.settled, false);
  assert.equal(state.firstKept, 3);
});

test('too few windows: not settled, nothing discarded yet', () => {
  assert.deepEqual(settleState([5, 5], rule), { settled: false, firstKept: 0, spreadPct: null });
  assert.equal(needsMoreWindows([5, 5], rule), true);
});

test('the range is relative to the median', () => {
  assert.equal(relativeRangePct([99, 100, 101]), 2);
  assert.equal(relativeRangePct([0, 0]), 0);
});
