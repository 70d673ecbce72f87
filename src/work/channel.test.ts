import { test } from 'node:test';
import assert from 'node:assert/strict';
import { windowShareUntil } from './channel.ts';

test("a workload's share of the work budget: an even split of what is left with the workloads after it", () => {
  assert.equal(windowShareUntil(undefined, 1_000, 3), Number.POSITIVE_INFINITY, 'no budget, no limit');
  assert.equal(windowShareUntil(91_000, 1_000, 3), 31_000, 'the first of three gets a third');
  // The first took only 10 s of its 30: the second gets half of the 80 s left, not a third of 90.
  assert.equal(windowShareUntil(91_000, 11_000, 2), 51_000);
  assert.equal(windowShareUntil(91_000, 51_000, 1), 91_000, 'the last gets the rest');
  assert.equal(windowShareUntil(91_000, 95_000, 1), 95_000, 'past the budget: nothing');
});
