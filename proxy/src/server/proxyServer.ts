// The listener: accepts clients (up to server.max_connections), owns the per-shard pools, and shuts
// down gracefully (stop accepting, let in-flight commands finish within a grace period, close pools).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { AthenaConfig, ShardConfig, UserConfig } from '../config.ts';
import type { Admission } from '../limits/admission.ts';
import { systemClock } from '../limits/clock.ts';
import { IdleSweep } from '../limits/idleSweep.ts';
import { MemoryBudget } from '../limits/memoryBudget.ts';
import { addressGroup, PreAuthGuard, type PreAuthRefusal } from '../limits/preAuthGuard.ts';
import type { AthenaMetrics, RefusalReason } from '../metrics/metrics.ts';
import { Cap, DEFAULT_COLLATION, ErrorCode } from '../protocol/constants.ts';
import { errPacket, type MysqlErrorCode } from '../protocol/packets.ts';
import { makeProfile, type BackendTarget } from './backendConnection.ts';
import { backendCredentialPolicy } from './backendCredentials.ts';
import { ADVERTISED_CAPABILITIES, ClientSession } from './clientSession.ts';
import type { ProxyContext } from './proxyContext.ts';
import { throttledMessage } from './clientLogin.ts';
import { ShardPool } from './pool.ts';
import type { TestCost } from './testCosts.ts';
import { adoptWithReader, SocketReader } from './socketReader.ts';

/** Announced until a backend connection tells Athena the real server's version. */
const FALLBACK_SERVER_VERSION = '8.0.36-athena';

/**
 * A client read holds up to this much: commands are mostly small, and a large one is assembled
 * over several reads. Smaller than a backend read, since a thousand idle clients each keep one.
 */
const CLIENT_READ_BYTES = 16 * 1024;

export interface ProxyServerOptions {
  config: AthenaConfig;
  metrics: AthenaMetrics;
  admission: Admission;
  /** A known cost added to every forwarded query (test hooks, testCosts.ts); absent = none. */
  costPerQuery?: TestCost | null;
  log?: (message: string) => void;
}

/** A file the configuration names, read at start; `key` names the setting in the error. */
function readConfigured(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(
      `${key}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      {
        cause: error,
      },
    );
  }
}

/** Where and how a shard's connections go, with its TLS settings and pinned RSA key loaded. */
function backendTarget(shard: ShardConfig, index: number): BackendTarget {
  return {
    host: shard.host,
    port: shard.port,
    user: shard.user,
    password: shard.password,
    ...backendCredentialPolicy(shard, `shards[${index}]`, readConfigured),
  };
}

/** The TLS context for client connections, or null when server.tls_cert_file is not set. */
function loadTlsContext(certFile: string | undefined, keyFile: string | undefined): tls.SecureContext | null {
  if (certFile === undefined || keyFile === undefined) return null;
  const read = readConfigured;
  const cert = read(certFile, 'server.tls_cert_file');
  const key = read(keyFile, 'server.tls_key_file');
  try {
    return tls.createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
  } catch (error) {
    throw new Error(
      `server.tls_cert_file / server.tls_key_file: not a usable certificate and key (${(error as Error).message})`,
      { cause: error },
    );
  }
}

export class ProxyServer implements ProxyContext<ClientSession> {
  readonly config: AthenaConfig;
  readonly metrics: AthenaMetrics;
  readonly admission: Admission;
  readonly pools = new Map<string, ShardPool>();
  readonly users = new Map<string, UserConfig>();
  readonly userSessions = new Map<string, number>();
  readonly preAuth: PreAuthGuard;
  readonly commandMemory: MemoryBudget;
  readonly tlsContext: tls.SecureContext | null;
  readonly costPerQuery: TestCost | null;
  draining = false;
  private readonly sessions = new Set<ClientSession>();
  private readonly server: net.Server;
  private readonly logFn: (message: string) => void;
  private probeTimer: ReturnType<typeof setInterval> | null = null;
  private readonly idleSweep: IdleSweep;
  private listening = false;
  /** Refusals are logged at most once a second per reason (a flood must not flood the log). */
  private readonly refusalLog = new Map<RefusalReason, { lastAt: number; suppressed: number }>();

  constructor(options: ProxyServerOptions) {
    this.config = options.config;
    this.metrics = options.metrics;
    this.admission = options.admission;
    this.costPerQuery = options.costPerQuery ?? null;
    this.logFn = options.log ?? ((m) => process.stderr.write(`${new Date().toISOString()} athena: ${m}\n`));
    for (const user of this.config.users) this.users.set(user.name, user);
    const { pool, circuit, server } = this.config;
    this.tlsContext = loadTlsContext(server.tls_cert_file, server.tls_key_file);
    this.preAuth = new PreAuthGuard(
      {
        maxHandshakesPerIp: server.max_handshakes_per_ip,
        maxHandshakes: server.max_handshakes,
        maxLoginFailuresPerIp: server.max_login_failures_per_ip,
        windowMs: server.login_failure_window_secs * 1000,
      },
      systemClock,
    );
    for (const [index, shard] of this.config.shards.entries()) {
      this.pools.set(
        shard.name,
        new ShardPool({
          shard: shard.name,
          target: backendTarget(shard, index),
          defaultDatabase: shard.database ?? null,
          settings: pool,
          connectTimeoutMs: server.backend_connect_timeout_ms,
          waitTimeoutMs: circuit.queue_timeout_ms,
          traffic: this.metrics.backendTraffic,
          log: this.logFn,
        }),
      );
    }
    this.commandMemory = new MemoryBudget(server.command_memory_budget);
    this.metrics.setCommandMemory(this.commandMemory);
    this.idleSweep = new IdleSweep(
      server.client_idle_timeout_secs * 1000,
      () => this.sessions,
      systemClock,
      (closed) =>
        this.log(
          `closed ${closed} session(s) idle for more than server.client_idle_timeout_secs = ${server.client_idle_timeout_secs}`,
        ),
    );
    this.metrics.setPoolSource(() => [...this.pools.values()].map((p) => p.stats()));
    // Paused: a client socket is re-wrapped to read into a reused buffer before it reads anything.
    this.server = net.createServer({ noDelay: true, pauseOnConnect: true }, this.onConnection);
    this.server.maxConnections = Number.MAX_SAFE_INTEGER; // the cap is enforced with a proper ERR 1040 below
  }

  log(message: string): void {
    this.logFn(message);
  }

  private firstPool(): ShardPool | undefined {
    return this.pools.values().next().value;
  }

  serverVersion(): string {
    return this.firstPool()?.serverVersion ?? FALLBACK_SERVER_VERSION;
  }

  serverCapabilities(): number {
    const backend = this.firstPool()?.serverCapabilities;
    // Offer only what the backend can honour too; the connection-phase flags are Athena's own.
    const own =
      Cap.LONG_PASSWORD |
      Cap.CONNECT_WITH_DB |
      Cap.PROTOCOL_41 |
      Cap.SECURE_CONNECTION |
      Cap.PLUGIN_AUTH |
      Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA |
      Cap.CONNECT_ATTRS |
      Cap.RESERVED |
      Cap.IGNORE_SIGPIPE;
    const offered = backend == null ? ADVERTISED_CAPABILITIES : ADVERTISED_CAPABILITIES & (backend | own);
    // TLS with the client is Athena's own, whatever the backend offers.
    return (offered | (this.tlsContext === null ? 0 : Cap.SSL)) >>> 0;
  }

  sessionEnded(session: ClientSession): void {
    this.sessions.delete(session);
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  private readonly onConnection = (accepted: net.Socket): void => {
    const reader = new SocketReader(CLIENT_READ_BYTES);
    // The reused-buffer reader reads the raw handle; a connection that may switch to TLS keeps the
    // stream API, whose socket tls.TLSSocket takes over.
    const adopted = this.tlsContext === null ? adoptWithReader(accepted, reader) : null;
    const socket = adopted ?? accepted.resume();
    if (this.draining) {
      socket.destroy();
      return;
    }
    const { server } = this.config;
    const address = socket.remoteAddress ?? '?';
    if (this.sessions.size >= server.max_connections) {
      this.refuseConnection(socket, 'max_connections', ErrorCode.CON_COUNT_ERROR, 'Too many connections');
      return;
    }
    const refusal = this.admitPreAuth(address);
    if (refusal !== null) {
      const code = refusal === 'login_throttled' ? ErrorCode.HOST_BLOCKED : ErrorCode.CON_COUNT_ERROR;
      this.refuseConnection(socket, refusal, code, this.preAuthMessage(refusal, address));
      return;
    }
    this.sessions.add(new ClientSession(socket, this, adopted === null ? null : reader));
  };

  /** PreAuthGuard.admit, after making room when all handshake slots are taken by busier addresses. */
  private admitPreAuth(address: string): PreAuthRefusal | null {
    const refusal = this.preAuth.admit(address);
    if (refusal !== 'handshakes') return refusal;
    const group = this.preAuth.groupToMakeRoomFor(address);
    if (group === null) return refusal;
    // Sessions are in accept order: the first of the group still logging in is its oldest.
    for (const session of this.sessions) {
      if (session.isHandshaking && session.addressGroup === group) {
        session.evictHandshake();
        this.metrics.handshakeEvicted();
        return this.preAuth.admit(address);
      }
    }
    return refusal;
  }

  private preAuthMessage(refusal: PreAuthRefusal, address: string): string {
    const { server } = this.config;
    switch (refusal) {
      case 'handshakes':
        return `Too many connections still logging in (server.max_handshakes = ${server.max_handshakes})`;
      case 'handshakes_per_ip':
        return `Too many connections from ${addressGroup(address)} still logging in (server.max_handshakes_per_ip = ${server.max_handshakes_per_ip})`;
      case 'login_throttled':
        return throttledMessage(this, address);
    }
  }

  /** Answers a connection with an ERR instead of a handshake, counts and (rate-limited) logs it. */
  private refuseConnection(
    socket: net.Socket,
    reason: RefusalReason,
    code: MysqlErrorCode,
    message: string,
  ): void {
    socket.on('error', () => undefined);
    socket.end(errPacket(0, code.errno, code.sqlState, message));
    this.metrics.connectionRefused(reason);
    const now = Date.now();
    const entry = this.refusalLog.get(reason) ?? { lastAt: 0, suppressed: 0 };
    if (now - entry.lastAt < 1000) {
      entry.suppressed++;
    } else {
      const more =
        entry.suppressed > 0
          ? ` (and ${entry.suppressed} more refused for this reason since the last line)`
          : '';
      this.log(`refused a connection from ${socket.remoteAddress ?? '?'}: ${message}${more}`);
      entry.lastAt = now;
      entry.suppressed = 0;
    }
    this.refusalLog.set(reason, entry);
  }

  /** Starts listening; probes each shard once so the handshake can announce the real server version. */
  async start(): Promise<{ host: string; port: number }> {
    const probeProfile = makeProfile(ADVERTISED_CAPABILITIES, DEFAULT_COLLATION);
    // Wait briefly for the probes (so the first clients see the real server version), never for a
    // backend that does not answer: the listener must come up regardless.
    const probes = Promise.all([...this.pools.values()].map((p) => p.probe(probeProfile)));
    await Promise.race([probes, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    for (const pool of this.pools.values()) {
      if (pool.reachable === false)
        this.log(`shard '${pool.shard}' is not reachable yet: ${pool.lastError ?? ''}`);
    }
    // While a shard is down, keep probing so /health turns green as soon as it is back.
    this.probeTimer = setInterval(() => {
      for (const pool of this.pools.values()) if (pool.reachable === false) void pool.probe(probeProfile);
    }, 2000);
    this.probeTimer.unref();
    this.idleSweep.start();
    const { listen_addr, listen_port } = this.config.server;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: listen_addr, port: listen_port, backlog: 1024 }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
    const address = this.server.address();
    const port = typeof address === 'object' && address ? address.port : listen_port;
    return { host: listen_addr, port };
  }

  /** For /health: accepting clients and every shard reachable. */
  health(): { ok: boolean; detail: Record<string, unknown> } {
    const shards: Record<string, unknown> = {};
    let ok = this.listening && !this.draining;
    for (const pool of this.pools.values()) {
      const reachable = pool.reachable !== false;
      if (!reachable) ok = false;
      shards[pool.shard] = {
        reachable,
        ...pool.stats(),
        ...(pool.lastError ? { last_error: pool.lastError } : {}),
      };
    }
    return {
      ok,
      detail: { accepting: this.listening && !this.draining, clients: this.sessions.size, shards },
    };
  }

  /**
   * Graceful shutdown: stop accepting, close idle sessions now and busy ones when their command's
   * response is complete, force-close whatever is left after graceMs, then close the pools.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    if (this.probeTimer !== null) clearInterval(this.probeTimer);
    this.idleSweep.stop();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.listening = false;
    for (const session of [...this.sessions]) session.closeWhenIdle();
    const deadline = Date.now() + graceMs;
    while (this.sessions.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const session of [...this.sessions]) session.close();
    for (const pool of this.pools.values()) pool.close();
    await closed;
  }
}
