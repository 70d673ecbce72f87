import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBudget } from './memoryBudget.ts';

test('reservations fit under the limit, exactly up to it; a refused one takes nothing', () => {
  const budget = new MemoryBudget(100);
  assert.equal(budget.tryReserve(50, 'a'), true);
  assert.equal(budget.tryReserve(41, 'b'), true);
  assert.equal(budget.tryReserve(10, 'c'), false);
  assert.equal(budget.held, 91);
  assert.equal(budget.tryReserve(9, 'c'), true);
  assert.equal(budget.held, 100);
  assert.equal(budget.tryReserve(1, 'd'), false);
});

test('one owner holds at most half of the budget, so another still has room', () => {
  const budget = new MemoryBudget(100);
  assert.equal(budget.ownerLimitBytes, 50);
  assert.equal(budget.tryReserve(30, 'hog'), true);
  assert.equal(budget.tryReserve(21, 'hog'), false, 'past its half while the budget has room');
  assert.equal(budget.tryReserve(20, 'hog'), true);
  assert.equal(budget.heldBy('hog'), 50);
  assert.equal(budget.tryReserve(50, 'other'), true);
});

test('released bytes can be reserved again; an owner never gives back more than it holds', () => {
  const budget = new MemoryBudget(100);
  budget.tryReserve(40, 'a');
  budget.tryReserve(40, 'b');
  budget.release(30, 'a');
  assert.equal(budget.held, 50);
  assert.equal(budget.tryReserve(30, 'a'), true);
  budget.release(500, 'a');
  assert.equal(budget.held, 40, "b's share is untouched");
  assert.equal(budget.heldBy('a'), 0);
  budget.release(40, 'b');
  assert.equal(budget.held, 0);
});
