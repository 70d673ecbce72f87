import { z } from 'zod';
import { UsageError } from '../util/errors.ts';

/** Connection settings for a MySQL server, as every part of the gate passes them around. */
export const MysqlConnectionSchema = z.object({
  host: z.string().min(1, 'expected a host name or IP address'),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1, 'expected a user name'),
  password: z.string(),
  database: z.string().optional(),
});
export type MysqlConnection = z.infer<typeof MysqlConnectionSchema>;

const MASK = '***';

/**
 * Parses `mysql://user:pass@host:port/db`. User and password may be percent-encoded; the port
 * defaults to 3306 and the database is optional. Errors never contain the password.
 */
export function parseMysqlUrl(text: string, field = '--mysql'): MysqlConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `${field}: expected a URL like mysql://user:password@host:3306/database, got "${maskSecretsInUrls(text)}"`,
    );
  }
  if (url.protocol !== 'mysql:') {
    throw new UsageError(`${field}: expected the mysql:// scheme, got "${url.protocol}//"`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const candidate = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: database === '' ? undefined : database,
  };
  const parsed = MysqlConnectionSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue?.path.join('.') ?? 'url';
    throw new UsageError(
      `${field}: ${name}: ${issue?.message ?? 'invalid'} (in ${formatMysqlUrl(candidate)})`,
    );
  }
  return parsed.data;
}

/** The URL form of a connection, with the password masked unless asked otherwise. */
export function formatMysqlUrl(conn: MysqlConnection, options: { revealPassword?: boolean } = {}): string {
  const password =
    conn.password === '' ? '' : `:${options.revealPassword ? encodeURIComponent(conn.password) : MASK}`;
  const host = conn.host.includes(':') ? `[${conn.host}]` : conn.host;
  return `mysql://${encodeURIComponent(conn.user)}${password}@${host}:${conn.port}/${conn.database ? encodeURIComponent(conn.database) : ''}`;
}

/** Replaces the password of every `scheme://user:password@` in a text with `***`. */
export function maskSecretsInUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:@/\s]*:)[^@\s]*@/gi, `$1${MASK}@`);
}

/** Removes every occurrence of the given secrets (and URL passwords) from a text. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = maskSecretsInUrls(text);
  for (const secret of secrets) {
    if (secret.length >= 3) out = out.split(secret).join(MASK);
  }
  return out;
}
