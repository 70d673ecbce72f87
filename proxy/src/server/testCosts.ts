import { TEST_BURN_US_VARIABLE, TEST_SPIN_LOOPS_VARIABLE, TEST_WAIT_US_VARIABLE } from '../contract.ts';

/**
 * Known costs added to every forwarded COM_QUERY/COM_STMT_EXECUTE, for measuring what the gate
 * detects (docs/ACCURACY.md). Each is off unless its environment variable is set; the data path
 * then holds one null check. Three kinds, because the gate has channels that see different things:
 * - burn: µs of CPU busy-waited (time, and CPU per query);
 * - spin: loop iterations, a cost in instructions (the work channel; under valgrind a µs busy-wait
 *   means nothing, time stretches);
 * - wait: µs slept with the event loop blocked, costing no CPU and almost no instructions — lost
 *   time and concurrency that only the time channel can see.
 */
export type TestCost = () => void;

export interface TestCostSettings {
  burnMicros: number;
  spinLoops: number;
  waitMicros: number;
}

/** The settings from the environment; a missing, unparsable or non-positive value is 0 (off). */
export function testCostSettingsFromEnv(env: NodeJS.ProcessEnv): TestCostSettings {
  return {
    burnMicros: positiveOrZero(env[TEST_BURN_US_VARIABLE]),
    spinLoops: Math.floor(positiveOrZero(env[TEST_SPIN_LOOPS_VARIABLE])),
    waitMicros: positiveOrZero(env[TEST_WAIT_US_VARIABLE]),
  };
}

function positiveOrZero(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  const value = Number(raw);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** The start-up log's note of the costs that are on ('' when none). */
export function describeTestCosts(settings: TestCostSettings): string {
  return (
    (settings.burnMicros > 0 ? `, test hook: burning ${settings.burnMicros} µs per query` : '') +
    (settings.spinLoops > 0 ? `, test hook: ${settings.spinLoops} loop iterations per query` : '') +
    (settings.waitMicros > 0 ? `, test hook: waiting ${settings.waitMicros} µs per query` : '')
  );
}

/** One function running every cost that is on, or null when none is. */
export function testCost(
  settings: TestCostSettings,
  now: () => number = performance.now.bind(performance),
): TestCost | null {
  const costs: TestCost[] = [];
  if (settings.burnMicros > 0) costs.push(() => burn(settings.burnMicros, now));
  if (settings.spinLoops > 0) costs.push(() => spinNotInlined(settings.spinLoops));
  if (settings.waitMicros > 0) costs.push(waiter(settings.waitMicros, now));
  if (costs.length === 0) return null;
  return costs.length === 1 ? costs[0]! : () => costs.forEach((cost) => cost());
}

function burn(micros: number, now: () => number): void {
  const until = now() + micros / 1000;
  while (now() < until) {
    // busy wait: the hook exists to cost CPU
  }
}

/** Where spin() leaves its result, so the loop cannot be optimised away. */
let spinSink = 1;

function spin(iterations: number): void {
  let x = spinSink;
  for (let i = 0; i < iterations; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  spinSink = x;
}

/**
 * spin() called through a Proxy, which the optimiser never inlines: inlined into forward(), the
 * loop's instructions would be named forward's in the work channel's profile, not spin's.
 */
const spinNotInlined = new Proxy(spin, {});

/** Sleeps shorter than this are owed and paid together: the kernel's timer slack (50 µs) would round each up. */
const SMALLEST_SLEEP_US = 200;

/**
 * A wait of `micros` per call on average. Each call owes `micros`; once the debt reaches
 * SMALLEST_SLEEP_US the thread sleeps it off with Atomics.wait (a futex: no CPU) and is credited
 * with the time it really slept, so oversleeping is paid back by the next calls.
 */
function waiter(micros: number, now: () => number): TestCost {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  let owedUs = 0;
  return () => {
    owedUs += micros;
    if (owedUs < SMALLEST_SLEEP_US) return;
    const started = now();
    Atomics.wait(cell, 0, 0, owedUs / 1000);
    owedUs -= (now() - started) * 1000;
  };
}
