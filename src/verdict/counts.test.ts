import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countShift, robustWindows } from './counts.ts';

test('a GC window is set aside; ordinary jitter of exact counts is not', () => {
  const windows = [20_100, 20_080, 26_869, 20_120, 20_090, 20_110, 20_095, 20_105];
  assert.deepEqual(robustWindows(windows).outliers, [26_869]);
  // Round trips: exactly 1.00 per query, then one window at 1.004 — within the 1% floor.
  assert.deepEqual(robustWindows([1, 1, 1, 1.004, 1]).outliers, []);
  // Never more than half: a bimodal arm keeps all its windows.
  assert.deepEqual(robustWindows([1, 1, 2, 2]).outliers, []);
});

test('a 2× change with 5 windows per arm is certain: no rank-test floor', () => {
  const base = [18_500, 18_520, 18_480, 18_510, 18_490];
  const head = base.map((v) => v * 2);
  const shift = countShift(head, base, 0.25)!;
  assert.ok(Math.abs(shift.estimate - 100) < 1e-9, `estimate ${shift.estimate}`);
  // A rank test of 5 vs 5 cannot go below p = 0.0079; counts judged as counts can.
  assert.ok(shift.pTwoSided < 1e-12, `p ${shift.pTwoSided}`);
});

test('the noise floor keeps two processes that differ by their usual 0.3% from looking significant', () => {
  const base = [18_500, 18_501, 18_499, 18_500, 18_500];
  const head = base.map((v) => v * 1.003);
  const withoutFloor = countShift(head, base, 0)!;
  const withFloor = countShift(head, base, 0.25)!;
  assert.ok(withoutFloor.pTwoSided < 1e-6);
  assert.ok(withFloor.pTwoSided > 0.2, `p ${withFloor.pTwoSided}`);
  assert.ok(withFloor.low < 0 && withFloor.high > 0.6);
});

test('the outlier window does not move the estimate', () => {
  const base = [20_100, 20_080, 20_120, 20_090, 20_110, 20_095];
  const head = [20_100, 20_080, 26_869, 20_120, 20_090, 20_110];
  const shift = countShift(head, base, 0.25)!;
  assert.ok(Math.abs(shift.estimate) < 0.1, `estimate ${shift.estimate}`);
  assert.deepEqual(shift.outliers, { current: 1, reference: 0 });
  assert.equal(countShift([1], [0], 0.25), null);
});
