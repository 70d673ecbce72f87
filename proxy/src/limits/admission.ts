import type { AthenaConfig } from '../config.ts';
import { observeQueueWait, type AthenaMetrics, type RateLimitCounters } from '../metrics/metrics.ts';
import { systemClock, type Clock } from './clock.ts';
import { ConcurrencyLimiter } from './concurrencyLimiter.ts';
import { LimitRejectedError } from './errors.ts';
import { effectiveBurst, TokenBucket } from './tokenBucket.ts';

/** One (user, shard) gate: the user's bucket (shared by all its shards), a limiter and its counters. */
interface Gate {
  bucket: TokenBucket | null;
  limiter: ConcurrencyLimiter;
  counters: RateLimitCounters;
  /** Allocated once per gate so the fast path hands out the same function every time. */
  release: () => void;
}

/**
 * Admission control for every forwarded command, per (user, shard): first the user's token bucket
 * (max_qps/burst; max_qps = 0 turns it off), then [circuit]'s concurrency limit with its bounded FIFO
 * queue. Counts athena_rate_limit_* for each outcome, and how long queued commands waited.
 *
 * A slot belongs to a session, not to one command: a session inside a transaction keeps the slot
 * it got until the server reports the transaction ended, and its commands pass admitHeld() (the
 * token bucket only). The session decides when to give the slot back (clientSession.ts).
 */
export class Admission {
  private readonly gates = new Map<string, Map<string, Gate>>();
  private readonly buckets = new Map<string, TokenBucket | null>();
  /** The gate admit() used last, and for whom: most commands come from the same (user, shard) in a row. */
  private lastUser = '';
  private lastShard = '';
  private lastGate: Gate | null = null;

  constructor(
    private readonly config: AthenaConfig,
    private readonly metrics: AthenaMetrics,
    private readonly clock: Clock = systemClock,
  ) {
    // Register each configured (user, shard) now so its series are in /metrics from the start.
    for (const user of config.users) this.gateFor(user.name, user.shard);
  }

  /**
   * Admits one command. Under the limits it returns the release function synchronously (no promise
   * is allocated); when every slot is taken it returns a promise of it. Rejections are
   * LimitRejectedError: 'rate_limited' and 'queue_full' are thrown synchronously, 'timeout' rejects
   * the promise. Call the release function exactly once, when the command's response is complete.
   */
  admit(user: string, shard: string): (() => void) | Promise<() => void> {
    const gate = this.takeToken(user, shard);
    if (gate.limiter.tryAcquire()) {
      gate.counters.acquired++;
      return gate.release;
    }
    let waiting: Promise<void>;
    try {
      waiting = gate.limiter.enqueue();
    } catch (error) {
      gate.counters.rejected_queue_full++;
      throw error;
    }
    gate.counters.queued++;
    const queuedAt = this.clock.now();
    return waiting.then(
      () => {
        observeQueueWait(gate.counters, (this.clock.now() - queuedAt) / 1000);
        gate.counters.acquired++;
        return gate.release;
      },
      (error: unknown) => {
        observeQueueWait(gate.counters, (this.clock.now() - queuedAt) / 1000);
        gate.counters.rejected_timeout++;
        throw error;
      },
    );
  }

  /**
   * Admits a command of a session that kept its slot (its transaction is open): it never queues,
   * so it cannot wait behind sessions that wait on its locks. Only the token bucket applies; a
   * refusal throws LimitRejectedError('rate_limited') and the session keeps its slot.
   */
  admitHeld(user: string, shard: string): void {
    const gate = this.takeToken(user, shard);
    gate.counters.acquired++;
    gate.counters.in_transaction++;
  }

  /** The (user, shard) gate, once the user's token bucket let the command through. */
  private takeToken(user: string, shard: string): Gate {
    let gate = this.lastGate;
    if (gate === null || user !== this.lastUser || shard !== this.lastShard) {
      gate = this.gateFor(user, shard); // two map lookups: skipped while the same gate repeats
      this.lastUser = user;
      this.lastShard = shard;
      this.lastGate = gate;
    }
    if (gate.bucket !== null && !gate.bucket.tryTake()) {
      gate.counters.rejected_qps++;
      throw new LimitRejectedError(
        'rate_limited',
        `User '${user}' has exceeded the 'max_qps' resource (current value: ${gate.bucket.maxQps})`,
      );
    }
    return gate;
  }

  /** In-flight and queued commands per (user, shard), for /health and tests. */
  snapshot(): Array<{ user: string; shard: string; active: number; waiting: number }> {
    const out: Array<{ user: string; shard: string; active: number; waiting: number }> = [];
    for (const [user, byShard] of this.gates) {
      for (const [shard, gate] of byShard) {
        out.push({ user, shard, active: gate.limiter.active, waiting: gate.limiter.waiting });
      }
    }
    return out;
  }

  private bucketFor(user: string): TokenBucket | null {
    let bucket = this.buckets.get(user);
    if (bucket === undefined) {
      const settings = this.config.users.find((u) => u.name === user);
      bucket =
        settings !== undefined && settings.max_qps > 0
          ? new TokenBucket(settings.max_qps, effectiveBurst(settings.max_qps, settings.burst), this.clock)
          : null;
      this.buckets.set(user, bucket);
    }
    return bucket;
  }

  private gateFor(user: string, shard: string): Gate {
    let byShard = this.gates.get(user);
    if (byShard === undefined) {
      byShard = new Map();
      this.gates.set(user, byShard);
    }
    let gate = byShard.get(shard);
    if (gate === undefined) {
      const { max_concurrent_per_user_shard, queue_size, queue_timeout_ms } = this.config.circuit;
      const limiter = new ConcurrencyLimiter(
        max_concurrent_per_user_shard,
        queue_size,
        queue_timeout_ms,
        this.clock,
        `user '${user}' on shard '${shard}'`,
      );
      gate = {
        bucket: this.bucketFor(user),
        limiter,
        counters: this.metrics.rateLimitCounters(user, shard),
        release: () => limiter.release(),
      };
      byShard.set(shard, gate);
    }
    return gate;
  }
}
