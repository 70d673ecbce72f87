// Closes client sessions that have run no command for server.client_idle_timeout_secs. One sweep
// over all sessions every quarter of the timeout (at most every 10 s) instead of a timer per session
// that every command would have to re-arm: the data path only notes when each command ended.
import type { Clock } from './clock.ts';

export interface IdleCandidate {
  /** Closes the session if it is idle and has been since before `cutoff` (clock time); true if it did. */
  closeIfIdleSince(cutoff: number): boolean;
}

/** Sweeps run at most this far apart, so a long timeout is still kept to within 10 s. */
const MAX_SWEEP_INTERVAL_MS = 10_000;

export class IdleSweep {
  private timer: unknown = null;
  private readonly intervalMs: number;

  constructor(
    private readonly timeoutMs: number,
    private readonly sessions: () => Iterable<IdleCandidate>,
    private readonly clock: Clock,
    private readonly onClosed: (count: number) => void,
  ) {
    this.intervalMs = Math.min(timeoutMs / 4, MAX_SWEEP_INTERVAL_MS);
  }

  /** Starts sweeping (a timeout of 0 never does). */
  start(): void {
    if (this.timeoutMs === 0 || this.timer !== null) return;
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Closes every session idle for longer than the timeout now; returns how many. */
  sweep(): number {
    const cutoff = this.clock.now() - this.timeoutMs;
    let closed = 0;
    // A copy: closing a session removes it from the live set.
    for (const session of [...this.sessions()]) if (session.closeIfIdleSince(cutoff)) closed++;
    if (closed > 0) this.onClosed(closed);
    return closed;
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      this.sweep();
      if (this.timer !== null) this.schedule();
    }, this.intervalMs);
    // Sweeping alone must not keep the process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }
}
