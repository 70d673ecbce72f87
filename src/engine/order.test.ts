import { test } from 'node:test';
import assert from 'node:assert/strict';
import { armOrder } from './order.ts';

test('two arms alternate ABBA across rounds', () => {
  const orders = [0, 1, 2, 3].map((r) => armOrder(['direct', 'proxy'], r).join(' '));
  assert.deepEqual(orders, ['direct proxy', 'proxy direct', 'direct proxy', 'proxy direct']);
});

test('with three arms every arm holds every position equally often over 2n rounds', () => {
  const arms = ['direct', 'proxy', 'haproxy'];
  const counts = new Map<string, number[]>(arms.map((a) => [a, [0, 0, 0]]));
  for (let r = 0; r < 6; r++) {
    const order = armOrder(arms, r);
    assert.equal(new Set(order).size, 3, `round ${r} runs each arm once`);
    order.forEach((arm, pos) => counts.get(arm)![pos]!++);
  }
  for (const [arm, positions] of counts) assert.deepEqual(positions, [2, 2, 2], arm);
});

test('round 0 keeps the given order and a single arm is left alone', () => {
  assert.deepEqual(armOrder(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(armOrder(['a'], 5), ['a']);
});
