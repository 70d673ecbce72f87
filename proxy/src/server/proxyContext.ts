// What every session shares with the server that accepted it: configuration, limits, pools,
// metrics and the hooks it calls back. Its own module so that the login and the command loop both
// depend on it rather than on each other.
import type tls from 'node:tls';
import type { AthenaConfig, UserConfig } from '../config.ts';
import type { Admission } from '../limits/admission.ts';
import type { MemoryBudget } from '../limits/memoryBudget.ts';
import type { PreAuthGuard } from '../limits/preAuthGuard.ts';
import type { AthenaMetrics } from '../metrics/metrics.ts';
import type { ShardPool } from './pool.ts';
import type { TestCost } from './testCosts.ts';

/** What every session shares: configuration, limits, metrics, pools. */
export interface ProxyContext<Session = object> {
  readonly config: AthenaConfig;
  readonly metrics: AthenaMetrics;
  readonly admission: Admission;
  readonly pools: ReadonlyMap<string, ShardPool>;
  readonly users: ReadonlyMap<string, UserConfig>;
  /** Authenticated sessions per user name (for users.max_connections). */
  readonly userSessions: Map<string, number>;
  /** Per-address handshake slots (taken before the session starts) and failed-login throttling. */
  readonly preAuth: PreAuthGuard;
  /** server.command_memory_budget: bytes of client commands held, not forwarded yet, by all sessions. */
  readonly commandMemory: MemoryBudget;
  /** Certificate and key for client connections that ask for TLS (null: TLS not offered). */
  readonly tlsContext: tls.SecureContext | null;
  /** Version string and capabilities to announce (learned from the backend when known). */
  serverVersion(): string;
  serverCapabilities(): number;
  /** A known cost added to every forwarded COM_QUERY/COM_STMT_EXECUTE (test hooks, testCosts.ts). */
  readonly costPerQuery: TestCost | null;
  /** True once shutdown started: sessions close as soon as they are idle. */
  readonly draining: boolean;
  sessionEnded(session: Session): void;
  log(message: string): void;
}
