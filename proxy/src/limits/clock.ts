/**
 * Time as the limiters see it: a monotonic millisecond clock plus timers. Passed in so the limiters
 * are tested with a ManualClock instead of real sleeps.
 */
export interface Clock {
  /** Milliseconds on a monotonic clock (only differences matter). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
