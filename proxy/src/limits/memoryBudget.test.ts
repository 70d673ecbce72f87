import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBudget } from './memoryBudget.ts';

test('reservations fit under the limit, exactly up to it; a refused one takes nothing', () => {
  const budget = new MemoryBudget(100);
  assert.equal(budget.tryReserve(60), true);
  assert.equal(budget.tryReserve(41), false);
  assert.equal(budget.held, 60);
  assert.equal(budget.tryReserve(40), true);
  assert.equal(budget.held, 100);
  assert.equal(budget.tryReserve(1), false);
});

test('released bytes can be reserved again; releasing more than is held never goes below zero', () => {
  const budget = new MemoryBudget(100);
  budget.tryReserve(100);
  budget.release(30);
  assert.equal(budget.tryReserve(30), true);
  budget.release(500);
  assert.equal(budget.held, 0);
  assert.equal(budget.tryReserve(100), true);
});
