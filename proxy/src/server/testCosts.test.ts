import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTestCosts, testCost, testCostSettingsFromEnv } from './testCosts.ts';

test('the settings come from the environment; anything but a positive number is off', () => {
  assert.deepEqual(
    testCostSettingsFromEnv({
      ATHENA_TEST_BURN_US_PER_QUERY: '12.5',
      ATHENA_TEST_SPIN_LOOPS_PER_QUERY: '1000.9',
      ATHENA_TEST_WAIT_US_PER_QUERY: 'abc',
    }),
    { burnMicros: 12.5, spinLoops: 1000, waitMicros: 0 },
  );
  assert.deepEqual(testCostSettingsFromEnv({ ATHENA_TEST_WAIT_US_PER_QUERY: '-3' }), {
    burnMicros: 0,
    spinLoops: 0,
    waitMicros: 0,
  });
  assert.equal(
    testCost({ burnMicros: 0, spinLoops: 0, waitMicros: 0 }),
    null,
    'no cost: nothing on the data path',
  );
  assert.equal(
    describeTestCosts({ burnMicros: 0, spinLoops: 0, waitMicros: 30 }),
    ', test hook: waiting 30 µs per query',
  );
});

test('a wait costs its µs per call on average, asleep: wall time grows, CPU time does not', () => {
  const cost = testCost({ burnMicros: 0, spinLoops: 0, waitMicros: 40 })!;
  const calls = 2000;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < calls; i++) cost();
  const wallUs = (performance.now() - started) * 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const expectedUs = calls * 40;
  // The debt is paid in sleeps of at least 200 µs; what is still owed at the end is under that.
  assert.ok(
    wallUs >= expectedUs - 200 && wallUs <= expectedUs * 1.25,
    `${wallUs.toFixed(0)} µs for ${expectedUs} µs owed`,
  );
  assert.ok(
    cpu.user + cpu.system < wallUs / 4,
    `CPU ${cpu.user + cpu.system} µs over ${wallUs.toFixed(0)} µs`,
  );
});

test('a burn costs CPU for its µs on every call: it spins on the clock, never sleeps', () => {
  // A clock that moves 1 µs per read: a busy wait reads it once per µs burned. (Timing a real
  // burn against CPU time fails whenever the scheduler preempts the spinning thread.)
  let reads = 0;
  const clock = () => reads++ / 1000;
  const cost = testCost({ burnMicros: 100, spinLoops: 0, waitMicros: 0 }, clock)!;
  const started = performance.now();
  for (let i = 0; i < 200; i++) cost();
  assert.ok(reads >= 200 * 100 && reads <= 200 * 102, `${reads} clock reads`);
  assert.ok(performance.now() - started < 1000, 'no sleep in it');
});
