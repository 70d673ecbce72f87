// What one client address may hold before it has logged in: a bounded number of connections still
// in their handshake, and no more logins once it has failed too many in a row. Both are keyed by the
// remote address, so one host cannot lock everyone else out of the global connection cap or try
// passwords at line rate.
import type { Clock } from './clock.ts';

export interface PreAuthSettings {
  /** Connections from one address still logging in; 0 = no limit. */
  maxHandshakesPerIp: number;
  /** Failed logins from one address, each within windowMs of the previous, before it is refused; 0 = off. */
  maxLoginFailuresPerIp: number;
  windowMs: number;
}

export type PreAuthRefusal = 'handshakes_per_ip' | 'login_throttled';

interface Failures {
  count: number;
  lastAt: number;
}

/** Addresses with recent failures remembered at most; the oldest are forgotten first. */
const MAX_TRACKED_ADDRESSES = 10_000;

export class PreAuthGuard {
  private readonly handshaking = new Map<string, number>();
  /** Insertion order is last-failure order: a failure moves its address to the end. */
  private readonly failures = new Map<string, Failures>();

  constructor(
    private readonly settings: PreAuthSettings,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  /** Why a new connection from `address` is refused, or null after taking one of its handshake slots. */
  admit(address: string): PreAuthRefusal | null {
    if (this.throttled(address)) return 'login_throttled';
    const held = this.handshaking.get(address) ?? 0;
    const max = this.settings.maxHandshakesPerIp;
    if (max > 0 && held >= max) return 'handshakes_per_ip';
    this.handshaking.set(address, held + 1);
    return null;
  }

  /** The connection logged in or went away: its handshake slot is free. */
  handshakeEnded(address: string): void {
    const held = (this.handshaking.get(address) ?? 1) - 1;
    if (held <= 0) this.handshaking.delete(address);
    else this.handshaking.set(address, held);
  }

  handshakesFrom(address: string): number {
    return this.handshaking.get(address) ?? 0;
  }

  loginFailed(address: string): void {
    if (this.settings.maxLoginFailuresPerIp === 0) return;
    const now = this.clock.now();
    const previous = this.failures.get(address);
    const count =
      previous !== undefined && now - previous.lastAt < this.settings.windowMs ? previous.count + 1 : 1;
    this.failures.delete(address);
    this.failures.set(address, { count, lastAt: now });
    while (this.failures.size > MAX_TRACKED_ADDRESSES) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
  }

  /** Seconds until `address` may try again (0 when it may now). */
  retryAfterSeconds(address: string): number {
    const entry = this.failures.get(address);
    if (entry === undefined || !this.throttled(address)) return 0;
    return Math.ceil((entry.lastAt + this.settings.windowMs - this.clock.now()) / 1000);
  }

  private throttled(address: string): boolean {
    const max = this.settings.maxLoginFailuresPerIp;
    if (max === 0) return false;
    const entry = this.failures.get(address);
    if (entry === undefined) return false;
    if (this.clock.now() - entry.lastAt >= this.settings.windowMs) {
      this.failures.delete(address);
      return false;
    }
    return entry.count >= max;
  }
}
