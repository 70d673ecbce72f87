/**
 * Bytes the proxy may hold at once, across all sessions, for client commands it has not forwarded
 * yet: split packets being gathered, the packets of a command over 16 MiB and the copy that joins
 * them, commands waiting behind them. One user with many sessions could otherwise make the proxy
 * hold server.max_allowed_packet (twice, for a joined command) per session; and no user may take
 * more than half of it, so one user's large commands cannot starve everyone else's.
 */
export class MemoryBudget {
  private heldBytes = 0;
  private readonly byOwner = new Map<string, number>();
  /** The most one owner (a user) may hold. */
  readonly ownerLimitBytes: number;

  constructor(readonly limitBytes: number) {
    this.ownerLimitBytes = Math.floor(limitBytes / 2);
  }

  /** Bytes reserved now, by all sessions. */
  get held(): number {
    return this.heldBytes;
  }

  heldBy(owner: string): number {
    return this.byOwner.get(owner) ?? 0;
  }

  /** Takes `bytes` for `owner` when they fit under both limits; false (and nothing taken) otherwise. */
  tryReserve(bytes: number, owner: string): boolean {
    const owned = this.heldBy(owner);
    if (this.heldBytes + bytes > this.limitBytes || owned + bytes > this.ownerLimitBytes) return false;
    this.heldBytes += bytes;
    if (bytes > 0) this.byOwner.set(owner, owned + bytes);
    return true;
  }

  release(bytes: number, owner: string): void {
    const owned = this.heldBy(owner);
    const released = Math.min(bytes, owned);
    this.heldBytes -= released;
    if (owned - released <= 0) this.byOwner.delete(owner);
    else this.byOwner.set(owner, owned - released);
  }
}
