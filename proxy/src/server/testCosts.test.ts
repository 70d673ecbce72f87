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

test('a burn costs CPU for its µs on every call', () => {
  const cost = testCost({ burnMicros: 100, spinLoops: 0, waitMicros: 0 })!;
  // A busy wait that the scheduler preempts (other test files share the 2 cores) spends wall
  // time without CPU, so the best of a few tries is what tells busy from asleep: asleep, a wait
  // spends under a quarter of its wall time on CPU (above), usually about 1%.
  let best = { wallUs: 0, cpuUs: 0 };
  for (let attempt = 0; attempt < 5 && best.cpuUs <= best.wallUs / 5; attempt++) {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < 200; i++) cost();
    const wallUs = (performance.now() - started) * 1000;
    const cpu = process.cpuUsage(cpuBefore);
    assert.ok(wallUs >= 20_000, `${wallUs} µs`);
    if (attempt === 0 || cpu.user + cpu.system > best.cpuUs) best = { wallUs, cpuUs: cpu.user + cpu.system };
  }
  assert.ok(
    best.cpuUs > best.wallUs / 2,
    `busy, not asleep: CPU ${best.cpuUs} µs over ${best.wallUs.toFixed(0)} µs`,
  );
});
