// Who may log in: the decision a session applies once a client has answered the scramble, at the
// handshake and at COM_CHANGE_USER. Deciding has no effects; the session logs, counts and answers.
import type { UserConfig } from '../config.ts';
import { Cap, ErrorCode } from '../protocol/constants.ts';
import type { MysqlErrorCode } from '../protocol/packets.ts';
import { checkCredentials } from './credentials.ts';
import type { ShardPool } from './pool.ts';

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
      message: `Too many connections: user '${user.name}' already has ${sessions} (users.max_connections = ${user.max_connections})`,
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

/** An SSLRequest: the first 32 bytes of a HandshakeResponse with CLIENT_SSL set, and nothing more. */
export function isSslRequest(packet: Buffer): boolean {
  return packet.length === 4 + 32 && (packet.readUInt32LE(4) & Cap.SSL) !== 0;
}
