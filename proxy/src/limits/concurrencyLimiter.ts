import type { Clock } from './clock.ts';
import { LimitRejectedError } from './errors.ts';

interface Waiter {
  resolve: () => void;
  reject: (error: LimitRejectedError) => void;
  timer: unknown;
  prev: Waiter | null;
  next: Waiter | null;
}

/**
 * At most `maxConcurrent` holders at a time; up to `queueSize` more wait in FIFO order, each for at
 * most `queueTimeoutMs`. A release hands the slot straight to the oldest waiter, so a newcomer never
 * overtakes the queue. Waiters live in a doubly linked list so a timed-out one leaves in O(1) and
 * never holds (or leaks) a slot.
 */
export class ConcurrencyLimiter {
  private holders = 0;
  private queued = 0;
  private head: Waiter | null = null;
  private tail: Waiter | null = null;

  constructor(
    readonly maxConcurrent: number,
    readonly queueSize: number,
    readonly queueTimeoutMs: number,
    private readonly clock: Clock,
    /** Names the gate in error messages, e.g. "user 'app' on shard 'default'". */
    private readonly label: string,
  ) {
    if (!(Number.isInteger(maxConcurrent) && maxConcurrent >= 1)) {
      throw new RangeError(`ConcurrencyLimiter: maxConcurrent must be an integer >= 1, got ${maxConcurrent}`);
    }
    if (!(Number.isInteger(queueSize) && queueSize >= 0)) {
      throw new RangeError(`ConcurrencyLimiter: queueSize must be an integer >= 0, got ${queueSize}`);
    }
  }

  /** Commands holding a slot. */
  get active(): number {
    return this.holders;
  }

  /** Commands waiting for a slot. */
  get waiting(): number {
    return this.queued;
  }

  /** Takes a slot if one is free now (never when others are waiting: they hold every slot then). */
  tryAcquire(): boolean {
    if (this.holders < this.maxConcurrent) {
      this.holders++;
      return true;
    }
    return false;
  }

  /**
   * Waits for a slot. Throws LimitRejectedError('queue_full') synchronously when the queue is full;
   * the promise rejects with LimitRejectedError('timeout') after queueTimeoutMs without a slot.
   * Call only after tryAcquire() returned false.
   */
  enqueue(): Promise<void> {
    if (this.queued >= this.queueSize) {
      throw new LimitRejectedError(
        'queue_full',
        `Too many commands in flight for ${this.label}: ${this.maxConcurrent} running and the queue of ${this.queueSize} is full; retry later`,
      );
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined, prev: this.tail, next: null };
      if (this.tail === null) this.head = waiter;
      else this.tail.next = waiter;
      this.tail = waiter;
      this.queued++;
      waiter.timer = this.clock.setTimeout(() => {
        this.unlink(waiter);
        waiter.reject(
          new LimitRejectedError(
            'timeout',
            `Waited more than ${this.queueTimeoutMs} ms for a free slot for ${this.label} (${this.maxConcurrent} commands running); the command was not run`,
          ),
        );
      }, this.queueTimeoutMs);
    });
  }

  /** Gives a slot back: to the oldest waiter if there is one, else to the pool of free slots. */
  release(): void {
    const next = this.head;
    if (next !== null) {
      this.unlink(next);
      this.clock.clearTimeout(next.timer);
      next.resolve(); // the slot passes to the waiter: holders is unchanged
      return;
    }
    if (this.holders === 0)
      throw new Error(`ConcurrencyLimiter(${this.label}): release without a matching acquire`);
    this.holders--;
  }

  private unlink(waiter: Waiter): void {
    if (waiter.prev === null) this.head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === null) this.tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = null;
    waiter.next = null;
    this.queued--;
  }
}
