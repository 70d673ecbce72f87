// The connection phase of a client session, up to the password check: Athena's greeting, the
// client's HandshakeResponse (after an SSLRequest and the switch to TLS, when it asks), and an auth
// switch to mysql_native_password when the client used another plugin. The session owns the socket
// and everything from the password check on (also for COM_CHANGE_USER); this class reaches it only
// through LoginHost. Who may log in is decided by decideLogin(), which has no effects: the session
// logs, counts and answers.
import type tls from 'node:tls';
import type { AthenaConfig, UserConfig } from '../config.ts';
import { addressGroup, type PreAuthGuard } from '../limits/preAuthGuard.ts';
import { Cap, DEFAULT_COLLATION, ErrorCode, NATIVE_PASSWORD_PLUGIN, Status } from '../protocol/constants.ts';
import { buildAuthSwitch, buildServerHandshake, parseHandshakeResponse } from '../protocol/handshake.ts';
import { framePacket, type MysqlErrorCode } from '../protocol/packets.ts';
import type { ProxyContext } from './proxyContext.ts';
import { checkCredentials } from './credentials.ts';
import type { ShardPool } from './pool.ts';

/** Who the client says it is, from its HandshakeResponse (capabilities masked by Athena's). */
export interface ClientHello {
  readonly user: string;
  readonly capabilities: number;
  readonly collation: number;
  readonly database: string | null;
}

/** What the login needs of its session. */
export interface LoginHost {
  readonly connectionId: number;
  describe(): string;
  write(data: Buffer): void;
  /** Answers with an ERR and closes the connection. */
  refuse(seq: number, code: MysqlErrorCode, message: string): void;
  /** The client sent an SSLRequest: the TLS handshake follows on the same socket. */
  startTls(context: tls.SecureContext): void;
  /** The client answered the scramble: check the password, then answer with `seq`. */
  authenticate(hello: ClientHello, token: Buffer, seq: number): void;
}

type LoginStep =
  | { readonly kind: 'handshake' }
  | { readonly kind: 'authSwitch'; readonly hello: ClientHello }
  | { readonly kind: 'done' };

const HANDSHAKE: LoginStep = { kind: 'handshake' };
const DONE: LoginStep = { kind: 'done' };

export class ClientLogin {
  private step: LoginStep = HANDSHAKE;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Sequence number of Athena's next packet while the client's part of the handshake is pending. */
  private nextSeq = 2;
  /** The client connection runs over TLS. */
  private secure = false;

  constructor(
    private readonly host: LoginHost,
    private readonly ctx: ProxyContext,
    /** The handshake's scramble (COM_CHANGE_USER answers it again later). */
    readonly scramble: Buffer,
  ) {}

  /** Sends Athena's greeting and starts the clock on the client's part of the handshake. */
  greet(): void {
    const server = this.ctx.config.server;
    // Bounds only the client's part (its HandshakeResponse and auth-switch reply): a backend slow to
    // check the database at login has its own bounds (backend_connect_timeout_ms, the pool's wait).
    this.timer = setTimeout(() => {
      this.timer = null;
      this.ctx.log(
        `client ${this.host.describe()} did not authenticate within ${server.handshake_timeout_ms} ms`,
      );
      this.host.refuse(
        this.nextSeq,
        ErrorCode.NET_READ_INTERRUPTED,
        `Got timeout reading communication packets (no handshake response within server.handshake_timeout_ms = ${server.handshake_timeout_ms} ms)`,
      );
    }, server.handshake_timeout_ms);
    const handshake = buildServerHandshake({
      serverVersion: this.ctx.serverVersion(),
      connectionId: this.host.connectionId,
      scramble: this.scramble,
      capabilities: this.ctx.serverCapabilities(),
      collation: DEFAULT_COLLATION,
      statusFlags: Status.AUTOCOMMIT,
      authPlugin: NATIVE_PASSWORD_PLUGIN,
    });
    this.host.write(framePacket(handshake, 0));
  }

  /** A packet from the client while it logs in. */
  onPacket(packet: Buffer): void {
    const step = this.step;
    if (step.kind === 'handshake') this.onHandshakeResponse(packet);
    else if (step.kind === 'authSwitch') this.answered(step.hello, packet.subarray(4), packet[3]! + 1);
  }

  /** Sequence id of Athena's next packet while the client's part of the handshake is pending. */
  get nextSequence(): number {
    return this.nextSeq;
  }

  /** The session is closing: the handshake clock stops. */
  stop(): void {
    this.step = DONE;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private onHandshakeResponse(packet: Buffer): void {
    const seq = packet[3]!;
    const context = this.ctx.tlsContext;
    if (isSslRequest(packet) && context !== null && !this.secure) {
      this.secure = true;
      this.nextSeq = seq + 2;
      this.host.startTls(context);
      return;
    }
    if (!this.secure && this.ctx.config.server.require_secure_transport) {
      this.ctx.log(
        `client ${this.host.describe()} refused: it did not ask for TLS (server.require_secure_transport)`,
      );
      this.host.refuse(
        seq + 1,
        ErrorCode.SECURE_TRANSPORT_REQUIRED,
        'Connections using insecure transport are prohibited (server.require_secure_transport = true)',
      );
      return;
    }
    let response;
    try {
      response = parseHandshakeResponse(packet.subarray(4));
    } catch (error) {
      this.host.refuse(seq + 1, ErrorCode.HANDSHAKE_ERROR, `Bad handshake: ${(error as Error).message}`);
      return;
    }
    const hello: ClientHello = {
      user: response.user,
      capabilities: (response.capabilities & this.ctx.serverCapabilities()) >>> 0,
      collation: response.collation || DEFAULT_COLLATION,
      database: response.database,
    };
    if (response.authPlugin !== null && response.authPlugin !== NATIVE_PASSWORD_PLUGIN) {
      // e.g. caching_sha2_password from a MySQL 8 client: ask for mysql_native_password instead.
      this.step = { kind: 'authSwitch', hello };
      this.nextSeq = seq + 3;
      this.host.write(framePacket(buildAuthSwitch(NATIVE_PASSWORD_PLUGIN, this.scramble), seq + 1));
      return;
    }
    this.answered(hello, response.authResponse, seq + 1);
  }

  /** The client's part is over: the session checks the password. */
  private answered(hello: ClientHello, token: Buffer, seq: number): void {
    this.stop();
    this.host.authenticate(hello, token, seq);
  }
}

/** What the decision reads of the proxy's shared state. */
export interface LoginContext {
  readonly users: ReadonlyMap<string, UserConfig>;
  /** Authenticated sessions per user name (for users.max_connections). */
  readonly userSessions: ReadonlyMap<string, number>;
  readonly pools: ReadonlyMap<string, ShardPool>;
}

export type LoginDecision =
  | { readonly granted: true; readonly user: UserConfig; readonly pool: ShardPool }
  | {
      readonly granted: false;
      readonly code: MysqlErrorCode;
      readonly message: string;
      /** Why, for the operator's log line; null when the refusal is not logged. */
      readonly logReason: string | null;
      /** Wrong password or unknown user: counts toward the address's failed-login throttling. */
      readonly badCredentials: boolean;
    };

export type LoginRefusal = Extract<LoginDecision, { granted: false }>;

/** Checks `token` against the user's password for `scramble`, then the user's limits and shard. */
export function decideLogin(
  ctx: LoginContext,
  userName: string,
  token: Buffer,
  scramble: Buffer,
  address: string,
): LoginDecision {
  const user = checkCredentials(ctx.users, userName, token, scramble);
  if (user === null) {
    return {
      granted: false,
      code: ErrorCode.ACCESS_DENIED,
      message: `Access denied for user '${userName}'@'${address}' (using password: ${token.length > 0 ? 'YES' : 'NO'})`,
      // Never the token (nor, of course, a password).
      logReason: ctx.users.has(userName) ? 'wrong password' : 'unknown user',
      badCredentials: true,
    };
  }
  const sessions = ctx.userSessions.get(user.name) ?? 0;
  if (user.max_connections > 0 && sessions >= user.max_connections) {
    return {
      granted: false,
      code: ErrorCode.CON_COUNT_ERROR,
      message: `Too many connections: user '${user.name}' already has ${sessions} (users.max_connections, by default server.max_user_connections, = ${user.max_connections})`,
      logReason: `users.max_connections (${user.max_connections}) reached`,
      badCredentials: false,
    };
  }
  const pool = ctx.pools.get(user.shard);
  if (pool === undefined) {
    return {
      granted: false,
      code: ErrorCode.ACCESS_DENIED,
      message: `User '${user.name}' maps to unknown shard '${user.shard}'`,
      logReason: null,
      badCredentials: false,
    };
  }
  return { granted: true, user, pool };
}

/**
 * What a client whose address has used up server.max_login_failures_per_ip gets: the same ERR when
 * its connection is accepted as when a password it sent later (a login, COM_CHANGE_USER) is due.
 */
export function throttledMessage(
  ctx: { readonly config: AthenaConfig; readonly preAuth: PreAuthGuard },
  address: string,
): string {
  const max = ctx.config.server.max_login_failures_per_ip;
  const retry = ctx.preAuth.retryAfterSeconds(address);
  return `Host '${addressGroup(address)}' is blocked after ${max} failed logins; retry in ${retry} s (server.max_login_failures_per_ip)`;
}

/** An SSLRequest: the first 32 bytes of a HandshakeResponse with CLIENT_SSL set, and nothing more. */
export function isSslRequest(packet: Buffer): boolean {
  return packet.length === 4 + 32 && (packet.readUInt32LE(4) & Cap.SSL) !== 0;
}
