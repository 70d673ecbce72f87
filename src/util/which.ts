import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Directories searched after PATH: server binaries live in sbin, which is not on every PATH. */
const EXTRA_DIRS = [
  '/usr/sbin',
  '/usr/local/sbin',
  '/usr/local/mysql/bin',
  '/opt/homebrew/bin',
  '/usr/local/bin',
];

/** The absolute path of the first executable named `name` on PATH (plus sbin), or undefined. */
export function which(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  const dirs = [...envPath.split(path.delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The first of several alternative binaries that exists (e.g. mariadb-slap or mysqlslap). */
export function whichFirst(names: readonly string[]): string | undefined {
  for (const name of names) {
    const found = which(name);
    if (found) return found;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
