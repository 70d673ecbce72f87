import mysql from 'mysql2/promise';
import { InfrastructureError, errorMessage } from '../util/errors.ts';
import { parseMysqlUrl, redact, type MysqlConnection } from './url.ts';

export interface WaitForServerDeps {
  /** Attempts one connection and returns the server version; mysql2 by default. */
  probe?: (conn: MysqlConnection, timeoutMs: number) => Promise<string>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface ServerInfo {
  version: string;
  attempts: number;
}

/** What a failed attempt most likely means, keyed by mysql2's error code. */
function hintFor(error: unknown, conn: MysqlConnection): string {
  const code = (error as { code?: string } | undefined)?.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused: nothing listens there. Is the server (or the service container) started, and is the port mapped?';
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      return `authentication failed for user "${conn.user}": check the user and password (mysql-user, mysql-password).`;
    case 'ER_BAD_DB_ERROR':
      return `unknown database "${conn.database ?? ''}": create it first or set the database (mysql-database) to one that exists.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host "${conn.host}" does not resolve: check the host name.`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
      return 'no answer: a firewall or a wrong address? A service container is usually at 127.0.0.1 with its mapped port.';
    default:
      return 'the server did not accept a connection.';
  }
}

async function mysql2Probe(conn: MysqlConnection, timeoutMs: number): Promise<string> {
  const connection = await mysql.createConnection({
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: conn.database,
    connectTimeout: timeoutMs,
  });
  try {
    const [rows] = await connection.query('SELECT VERSION() AS version');
    return String((rows as Array<{ version: string }>)[0]?.version ?? 'unknown');
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/**
 * How long a server given to the gate (--mysql, the Action's mysql-* inputs) may take to accept a
 * connection, for the CLI and the Action alike: a MySQL 8 service container initialising its data
 * directory on a busy runner takes over a minute; a server that is already up answers at once.
 */
export const MYSQL_READY_TIMEOUT_SEC = 120;

/**
 * Waits for an existing server (a GitHub service container, a server given by --mysql) to accept
 * a connection with the given credentials. Retries with exponential backoff (100 ms doubling up to
 * 2 s); after timeoutMs, fails with an error naming host:port, the last error and a hint.
 */
export async function waitForServer(
  target: string | MysqlConnection,
  timeoutMs: number,
  deps: WaitForServerDeps = {},
): Promise<ServerInfo> {
  const conn = typeof target === 'string' ? parseMysqlUrl(target) : target;
  const probe = deps.probe ?? mysql2Probe;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + timeoutMs;
  let delay = 100;
  let attempts = 0;
  let lastError: unknown;
  for (;;) {
    attempts += 1;
    const remaining = deadline - now();
    try {
      const version = await probe(conn, Math.max(250, Math.min(remaining, 10_000)));
      return { version, attempts };
    } catch (error) {
      lastError = error;
    }
    const left = deadline - now();
    if (left <= 0) break;
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, 2000);
  }
  const where = `${conn.host}:${conn.port}`;
  const message = redact(errorMessage(lastError), [conn.password]);
  throw new InfrastructureError(
    `MySQL at ${where} was not ready after ${(timeoutMs / 1000).toFixed(1)} s (${attempts} attempts). ` +
      `Last error: ${message}. Hint: ${hintFor(lastError, conn)}`,
    { cause: lastError },
  );
}
