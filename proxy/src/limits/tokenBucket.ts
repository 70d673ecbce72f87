import type { Clock } from './clock.ts';

/**
 * The effective bucket size for a user's max_qps/burst. burst = 0 means "no extra burst": the bucket
 * holds one second's worth of tokens, at least 1 (so max_qps = 0.5 still admits one query per 2 s).
 */
export function effectiveBurst(maxQps: number, burst: number): number {
  return burst > 0 ? burst : Math.max(1, Math.ceil(maxQps));
}

/**
 * A token bucket refilled continuously at maxQps tokens per second, holding at most `capacity`;
 * it starts full. One query takes one token. No timers: refills are computed from the clock on use.
 */
export class TokenBucket {
  private tokens: number;
  private lastRefill: number;
  private readonly tokensPerMs: number;

  constructor(
    readonly maxQps: number,
    readonly capacity: number,
    private readonly clock: Clock,
  ) {
    if (!(maxQps > 0)) throw new RangeError(`TokenBucket: maxQps must be > 0, got ${maxQps}`);
    if (!(capacity >= 1)) throw new RangeError(`TokenBucket: capacity must be >= 1, got ${capacity}`);
    this.tokens = capacity;
    this.lastRefill = clock.now();
    this.tokensPerMs = maxQps / 1000;
  }

  /** Takes a token if one is available now. */
  tryTake(): boolean {
    const now = this.clock.now();
    const elapsed = now - this.lastRefill;
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.tokensPerMs);
      this.lastRefill = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Tokens available now (fractional), after refill. For tests and /health. */
  available(): number {
    const elapsed = this.clock.now() - this.lastRefill;
    return Math.min(this.capacity, this.tokens + Math.max(0, elapsed) * this.tokensPerMs);
  }
}
