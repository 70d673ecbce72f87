/** Why a command was not admitted, with the MySQL error the client gets for it. */
export type LimitReason = 'queue_full' | 'timeout' | 'rate_limited';

const MYSQL_ERROR: Record<LimitReason, { errno: number; sqlState: string }> = {
  // ER_CON_COUNT_ERROR: what clients already treat as "server busy, retry later".
  queue_full: { errno: 1040, sqlState: '08004' },
  // ER_LOCK_WAIT_TIMEOUT: the command waited and was not run; the session is intact.
  timeout: { errno: 1205, sqlState: 'HY000' },
  // ER_USER_LIMIT_REACHED: MySQL's own error for per-user resource limits.
  rate_limited: { errno: 1226, sqlState: '42000' },
};

/**
 * A command refused by the circuit or the rate limiter. The command was never sent to a backend,
 * so the client connection stays usable; the proxy answers it with ERR errno/sqlState/message.
 */
export class LimitRejectedError extends Error {
  readonly errno: number;
  readonly sqlState: string;

  constructor(
    readonly reason: LimitReason,
    message: string,
  ) {
    super(message);
    this.name = 'LimitRejectedError';
    this.errno = MYSQL_ERROR[reason].errno;
    this.sqlState = MYSQL_ERROR[reason].sqlState;
  }
}
