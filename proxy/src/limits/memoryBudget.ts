/**
 * Bytes the proxy may hold at once, across all sessions, for client commands it has not forwarded
 * yet: split packets being gathered, the packets of a command over 16 MiB and the copy that joins
 * them, commands waiting behind them. One user with many sessions could otherwise make the proxy
 * hold server.max_allowed_packet (twice, for a joined command) per session.
 */
export class MemoryBudget {
  private heldBytes = 0;

  constructor(readonly limitBytes: number) {}

  /** Bytes reserved now, by all sessions. */
  get held(): number {
    return this.heldBytes;
  }

  /** Takes `bytes` when they fit under the limit; false (and nothing taken) when they do not. */
  tryReserve(bytes: number): boolean {
    if (this.heldBytes + bytes > this.limitBytes) return false;
    this.heldBytes += bytes;
    return true;
  }

  release(bytes: number): void {
    this.heldBytes = Math.max(0, this.heldBytes - bytes);
  }
}
