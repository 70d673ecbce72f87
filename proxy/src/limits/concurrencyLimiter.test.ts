import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyLimiter } from './concurrencyLimiter.ts';
import { LimitRejectedError } from './errors.ts';
import { ManualClock } from './manualClock.ts';

function limiter(
  max: number,
  queue: number,
  timeoutMs: number,
  clock = new ManualClock(),
): ConcurrencyLimiter {
  return new ConcurrencyLimiter(max, queue, timeoutMs, clock, "user 'u' on shard 's'");
}

/** Lets resolved promise callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('tryAcquire takes free slots up to the limit; release frees them', () => {
  const l = limiter(2, 5, 1000);
  assert.equal(l.tryAcquire(), true);
  assert.equal(l.tryAcquire(), true);
  assert.equal(l.tryAcquire(), false);
  assert.equal(l.active, 2);
  l.release();
  assert.equal(l.active, 1);
  assert.equal(l.tryAcquire(), true);
  l.release();
  l.release();
  assert.equal(l.active, 0);
  assert.throws(() => l.release(), /release without a matching acquire/);
});

test('waiters get slots in FIFO order, and a newcomer cannot overtake the queue', async () => {
  const l = limiter(1, 10, 1000);
  assert.ok(l.tryAcquire());
  const order: number[] = [];
  const waits = [1, 2, 3, 4].map((n) => l.enqueue().then(() => order.push(n)));
  assert.equal(l.waiting, 4);
  l.release(); // to waiter 1
  assert.equal(l.tryAcquire(), false, 'the slot went to the queue, not to a newcomer');
  await settle();
  assert.deepEqual(order, [1]);
  l.release();
  l.release();
  await settle();
  assert.deepEqual(order, [1, 2, 3]);
  l.release();
  await Promise.all(waits);
  assert.deepEqual(order, [1, 2, 3, 4]);
  assert.equal(l.active, 1, 'waiter 4 holds the slot');
  assert.equal(l.waiting, 0);
  l.release();
  assert.equal(l.active, 0);
});

test('a full queue rejects at once with queue_full (ERR 1040 08004)', () => {
  const l = limiter(1, 2, 1000);
  assert.ok(l.tryAcquire());
  void l.enqueue().catch(() => undefined);
  void l.enqueue().catch(() => undefined);
  assert.throws(
    () => l.enqueue(),
    (e: unknown) => {
      assert.ok(e instanceof LimitRejectedError);
      assert.equal(e.reason, 'queue_full');
      assert.equal(e.errno, 1040);
      assert.equal(e.sqlState, '08004');
      assert.match(e.message, /user 'u' on shard 's'.*queue of 2 is full/);
      return true;
    },
  );
  assert.equal(l.waiting, 2);
});

test('queue_size 0 means no waiting at all', () => {
  const l = limiter(1, 0, 1000);
  assert.ok(l.tryAcquire());
  assert.throws(
    () => l.enqueue(),
    (e: unknown) => e instanceof LimitRejectedError && e.reason === 'queue_full',
  );
});

test('a waiter that waits longer than the timeout is rejected with timeout (ERR 1205 HY000)', async () => {
  const clock = new ManualClock();
  const l = limiter(1, 5, 100, clock);
  assert.ok(l.tryAcquire());
  const waiting = l.enqueue();
  clock.advance(99);
  assert.equal(l.waiting, 1);
  clock.advance(1);
  await assert.rejects(waiting, (e: unknown) => {
    assert.ok(e instanceof LimitRejectedError);
    assert.equal(e.reason, 'timeout');
    assert.equal(e.errno, 1205);
    assert.equal(e.sqlState, 'HY000');
    assert.match(e.message, /more than 100 ms/);
    return true;
  });
  assert.equal(l.waiting, 0);
  assert.equal(l.active, 1);
});

test('a timed-out waiter leaks no slot: after release the limiter is fully free again', async () => {
  const clock = new ManualClock();
  const l = limiter(2, 5, 100, clock);
  assert.ok(l.tryAcquire());
  assert.ok(l.tryAcquire());
  const a = l.enqueue();
  clock.advance(50);
  const b = l.enqueue();
  clock.advance(50); // a times out, b has waited 50 ms
  await assert.rejects(a, LimitRejectedError);
  let bGotSlot = false;
  void b.then(() => (bGotSlot = true));
  l.release(); // goes to b, not to the timed-out a
  await settle();
  assert.equal(bGotSlot, true);
  assert.equal(clock.pendingTimers, 0, "b's timer is cleared when it gets the slot");
  clock.advance(1000); // nothing left to fire
  l.release();
  l.release();
  assert.equal(l.active, 0);
  assert.equal(l.waiting, 0);
  assert.ok(l.tryAcquire() && l.tryAcquire(), 'both slots are free');
  assert.equal(l.tryAcquire(), false);
});

test('a waiter timing out at the head of the queue keeps the others in order', async () => {
  const clock = new ManualClock();
  const l = limiter(1, 5, 100, clock);
  assert.ok(l.tryAcquire());
  const order: string[] = [];
  const track = (name: string): Promise<unknown> =>
    l.enqueue().then(
      () => order.push(name),
      (e: unknown) => order.push(`${name} ${(e as LimitRejectedError).reason}`),
    );
  const first = track('first');
  clock.advance(10);
  const middle = track('middle');
  clock.advance(10);
  const last = track('last');
  clock.advance(80); // first has waited 100 ms: it times out; middle (90) and last (80) still wait
  await first;
  assert.deepEqual(order, ['first timeout']);
  assert.equal(l.waiting, 2);
  l.release(); // -> middle
  await middle;
  l.release(); // -> last
  await last;
  assert.deepEqual(order, ['first timeout', 'middle', 'last']);
  assert.equal(l.active, 1);
});
