// What strangers may hold before they have logged in: a bounded number of connections still in
// their handshake, in all and per address, and no more password guesses once an address has failed
// too many in a row. Per-address limits key on the address's group (an IPv6 host usually owns a
// whole /64), so one host cannot lock everyone else out or try passwords at line rate.
import net from 'node:net';
import type { Clock } from './clock.ts';

export interface PreAuthSettings {
  /** Connections from one address group still logging in; 0 = no limit. */
  maxHandshakesPerIp: number;
  /** Connections still logging in, from anywhere; 0 = no limit. */
  maxHandshakes: number;
  /** Failed logins from one group, each within windowMs of the previous, before it is refused; 0 = off. */
  maxLoginFailuresPerIp: number;
  windowMs: number;
}

export type PreAuthRefusal = 'handshakes' | 'handshakes_per_ip' | 'login_throttled';

interface Failures {
  count: number;
  lastAt: number;
}

/** Addresses with recent failures remembered at most; the oldest are forgotten first. */
const MAX_TRACKED_ADDRESSES = 10_000;

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * The key per-address limits count under: an IPv4 address as is (also when mapped into IPv6), an
 * IPv6 address as its /64 ("2001:db8:0:1::/64"), since one host is routinely given a whole /64.
 */
export function addressGroup(address: string): string {
  const mapped = IPV4_MAPPED.exec(address);
  if (mapped !== null) return mapped[1]!;
  const bare = address.split('%', 1)[0]!;
  if (!net.isIPv6(bare)) return address;
  // The URL parser writes the prefix in canonical form: "2001:db8:0:1::", "fe80::", "::".
  const prefix = new URL(`http://[${ipv6Hextets(bare).slice(0, 4).join(':')}::]`).hostname.slice(1, -1);
  return `${prefix}/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (a trailing dotted IPv4 part kept as one). */
function ipv6Hextets(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const parts = (text: string): string[] => (text === '' ? [] : text.split(':'));
  const headParts = parts(head);
  const tailParts = tail === undefined ? [] : parts(tail);
  // A trailing dotted IPv4 part stands for the last two groups; only the first four matter here.
  const tailGroups = tailParts.reduce((n, part) => n + (part.includes('.') ? 2 : 1), 0);
  const zeros = Array.from({ length: 8 - headParts.length - tailGroups }, () => '0');
  return [...headParts, ...zeros, ...tailParts];
}

export class PreAuthGuard {
  private readonly handshaking = new Map<string, number>();
  private handshakesInAll = 0;
  /** Insertion order is last-failure order: a failure moves its group to the end. */
  private readonly failures = new Map<string, Failures>();
  /** Passwords being judged now, per group: they count against the failure budget until judged. */
  private readonly judging = new Map<string, number>();

  constructor(
    private readonly settings: PreAuthSettings,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  /** Why a new connection from `address` is refused, or null after taking one of its handshake slots. */
  admit(address: string): PreAuthRefusal | null {
    const group = addressGroup(address);
    if (this.throttled(group)) return 'login_throttled';
    const { maxHandshakes, maxHandshakesPerIp } = this.settings;
    if (maxHandshakes > 0 && this.handshakesInAll >= maxHandshakes) return 'handshakes';
    const held = this.handshaking.get(group) ?? 0;
    if (maxHandshakesPerIp > 0 && held >= maxHandshakesPerIp) return 'handshakes_per_ip';
    this.handshaking.set(group, held + 1);
    this.handshakesInAll++;
    return null;
  }

  /** The connection logged in or went away: its handshake slot is free. */
  handshakeEnded(address: string): void {
    const group = addressGroup(address);
    const held = this.handshaking.get(group);
    if (held === undefined) return;
    this.handshakesInAll--;
    if (held <= 1) this.handshaking.delete(group);
    else this.handshaking.set(group, held - 1);
  }

  handshakesFrom(address: string): number {
    return this.handshaking.get(addressGroup(address)) ?? 0;
  }

  get handshakes(): number {
    return this.handshakesInAll;
  }

  /**
   * With every handshake slot taken, the group a newcomer from `address` may take one from: the
   * group holding the most, when it holds more than the newcomer's would after taking it (equal
   * shares never trade slots back and forth); null when there is none. So while strangers fill
   * maxHandshakes, a client from another address still gets in, unless the strangers come from as
   * many groups as there are slots.
   */
  groupToMakeRoomFor(address: string): string | null {
    const own = (this.handshaking.get(addressGroup(address)) ?? 0) + 1;
    let busiest: string | null = null;
    let most = own;
    for (const [group, held] of this.handshaking) {
      if (held > most) {
        busiest = group;
        most = held;
      }
    }
    return busiest;
  }

  /**
   * A password from `address` is about to be judged (a login or COM_CHANGE_USER): false when the
   * address is throttled, else the attempt holds a share of its failure budget until attemptEnded().
   * Checked here and not only when the connection was accepted, so connections opened together
   * before the first failure get no more guesses than the budget.
   */
  beginAttempt(address: string): boolean {
    const group = addressGroup(address);
    if (this.throttled(group)) return false;
    if (this.settings.maxLoginFailuresPerIp > 0) this.judging.set(group, (this.judging.get(group) ?? 0) + 1);
    return true;
  }

  /** The attempt begun with beginAttempt() was judged; `failed`: a wrong user or password. */
  attemptEnded(address: string, failed: boolean): void {
    if (this.settings.maxLoginFailuresPerIp === 0) return;
    const group = addressGroup(address);
    const judging = this.judging.get(group) ?? 1;
    if (judging <= 1) this.judging.delete(group);
    else this.judging.set(group, judging - 1);
    if (failed) this.recordFailure(group);
  }

  /** Seconds until `address` may try again (0 when it may now). */
  retryAfterSeconds(address: string): number {
    const group = addressGroup(address);
    const entry = this.failures.get(group);
    if (entry === undefined || !this.throttled(group)) return 0;
    return Math.max(1, Math.ceil((entry.lastAt + this.settings.windowMs - this.clock.now()) / 1000));
  }

  private recordFailure(group: string): void {
    const now = this.clock.now();
    const previous = this.failures.get(group);
    const count =
      previous !== undefined && now - previous.lastAt < this.settings.windowMs ? previous.count + 1 : 1;
    this.failures.delete(group);
    this.failures.set(group, { count, lastAt: now });
    while (this.failures.size > MAX_TRACKED_ADDRESSES) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
  }

  /** Recent failures plus the passwords of this group being judged now have used up its budget. */
  private throttled(group: string): boolean {
    const max = this.settings.maxLoginFailuresPerIp;
    if (max === 0) return false;
    return this.recentFailures(group) + (this.judging.get(group) ?? 0) >= max;
  }

  private recentFailures(group: string): number {
    const entry = this.failures.get(group);
    if (entry === undefined) return 0;
    if (this.clock.now() - entry.lastAt >= this.settings.windowMs) {
      this.failures.delete(group);
      return 0;
    }
    return entry.count;
  }
}
