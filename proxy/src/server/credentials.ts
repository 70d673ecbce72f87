// Checking a client's user name and mysql_native_password response against [[users]].
import { randomBytes } from 'node:crypto';
import type { UserConfig } from '../config.ts';
import { verifyNativePassword } from '../protocol/auth.ts';

/**
 * Unknown users are checked against this secret, which nobody knows: refusing them costs the same
 * hashing as refusing a wrong password, so the time of a refusal does not tell which users exist.
 */
const UNKNOWN_USER_SECRET = randomBytes(18).toString('base64');

/** The user whose password `token` proves, or null. */
export function checkCredentials(
  users: ReadonlyMap<string, UserConfig>,
  userName: string,
  token: Buffer,
  scramble: Buffer,
): UserConfig | null {
  const user = users.get(userName);
  const proven = verifyNativePassword(token, user?.password ?? UNKNOWN_USER_SECRET, scramble);
  return proven && user !== undefined ? user : null;
}
