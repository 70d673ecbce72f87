import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './manualClock.ts';
import { effectiveBurst, TokenBucket } from './tokenBucket.ts';

function takeAll(bucket: TokenBucket): number {
  let n = 0;
  while (bucket.tryTake()) n++;
  return n;
}

test('effectiveBurst: burst when set, else one second of max_qps (at least 1)', () => {
  assert.equal(effectiveBurst(100, 0), 100);
  assert.equal(effectiveBurst(100, 5), 5);
  assert.equal(effectiveBurst(0.5, 0), 1);
  assert.equal(effectiveBurst(2.5, 0), 3);
});

test('a bucket starts full and admits `capacity` at once, then refuses', () => {
  const bucket = new TokenBucket(10, 5, new ManualClock());
  assert.equal(takeAll(bucket), 5);
  assert.equal(bucket.tryTake(), false);
});

test('tokens refill at max_qps per second, continuously, capped at capacity', () => {
  const clock = new ManualClock(1000);
  const bucket = new TokenBucket(10, 5, clock);
  takeAll(bucket);
  clock.advance(99); // 0.99 tokens
  assert.equal(bucket.tryTake(), false);
  clock.advance(1); // 1.0 token (99 ms of refill were kept)
  assert.equal(bucket.tryTake(), true);
  assert.equal(bucket.tryTake(), false);
  clock.advance(250); // 2.5 tokens
  assert.equal(takeAll(bucket), 2);
  assert.ok(Math.abs(bucket.available() - 0.5) < 1e-9, `left ${bucket.available()}`);
  clock.advance(60_000);
  assert.equal(bucket.available(), 5, 'capped at capacity');
  assert.equal(takeAll(bucket), 5);
});

test('over a long run the admitted rate is max_qps plus the initial burst', () => {
  const clock = new ManualClock();
  const bucket = new TokenBucket(50, 10, clock);
  let admitted = 0;
  for (let ms = 0; ms < 10_000; ms++) {
    // 5 attempts per ms = 5000 attempted per second, far above the limit
    for (let k = 0; k < 5; k++) if (bucket.tryTake()) admitted++;
    clock.advance(1);
  }
  assert.equal(admitted, 10 + 50 * 10 - 1, 'burst of 10 plus 50/s for 10 s (the last token is not due yet)');
});

test('fractional rates: 0.5 qps admits one query per 2 s', () => {
  const clock = new ManualClock();
  const bucket = new TokenBucket(0.5, effectiveBurst(0.5, 0), clock);
  assert.equal(bucket.tryTake(), true);
  clock.advance(1999);
  assert.equal(bucket.tryTake(), false);
  clock.advance(1);
  assert.equal(bucket.tryTake(), true);
});

test('bad parameters are refused', () => {
  assert.throws(() => new TokenBucket(0, 1, new ManualClock()), RangeError);
  assert.throws(() => new TokenBucket(1, 0, new ManualClock()), RangeError);
});
