import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { InfrastructureError, errorMessage } from '../util/errors.ts';
import { findFreePort } from '../util/net.ts';
import { which } from '../util/which.ts';
import { formatMysqlUrl, type MysqlConnection } from './url.ts';

export type ServerFlavor = 'mariadb' | 'mysql';

export interface LocalServer extends MysqlConnection {
  database: string;
  /** `SELECT VERSION()`, e.g. `10.11.19-MariaDB-0+deb12u1`. */
  version: string;
  flavor: ServerFlavor;
  /** The temp directory holding datadir, socket and logs; removed by stop(). */
  baseDir: string;
  pid: number;
  /** Stops the server and removes its temp directory; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartLocalServerOptions {
  /** Root password; a random one by default, so it can never be guessed from the repo. */
  password?: string;
  database?: string;
  /** A fixed port; a free one by default. */
  port?: number;
  /** Path or name of mariadbd/mysqld; searched on PATH (and sbin) by default. */
  binary?: string;
  startTimeoutMs?: number;
  /** Extra server options, e.g. ['--innodb-buffer-pool-size=512M']. */
  extraArgs?: string[];
}

const INSTALL_HINT =
  'No MySQL server binary (mariadbd or mysqld) was found on PATH or in /usr/sbin. Install one: ' +
  '`sudo apt-get install -y mariadb-server` (Debian/Ubuntu) or `brew install mysql` (macOS), ' +
  'or point the gate at a running server with --mysql mysql://user:pass@host:port/db.';

/** Servers this process started and has not stopped: killed on exit so none outlives us. */
const liveServers = new Set<{ child: ChildProcess; baseDir: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const server of liveServers) {
      server.child.kill('SIGKILL');
      rmSync(server.baseDir, { recursive: true, force: true });
    }
  });
}

export function findServerBinary(preferred?: string): { binary: string; flavor: ServerFlavor } {
  const candidates = preferred ? [preferred] : ['mariadbd', 'mysqld'];
  for (const name of candidates) {
    const binary = which(name);
    if (!binary) continue;
    const version = spawnSync(binary, ['--version'], { encoding: 'utf8' });
    const text = `${version.stdout ?? ''}${version.stderr ?? ''}`;
    return { binary, flavor: /mariadb/i.test(text) ? 'mariadb' : 'mysql' };
  }
  throw new InfrastructureError(
    preferred ? `MySQL server binary "${preferred}" not found. ${INSTALL_HINT}` : INSTALL_HINT,
  );
}

function currentUser(): string {
  return os.userInfo().username;
}

function runChecked(command: string, args: string[], logFile: string, what: string): void {
  const fd = openSync(logFile, 'a');
  try {
    const result = spawnSync(command, args, { stdio: ['ignore', fd, fd], timeout: 120_000 });
    if (result.status !== 0) {
      throw new InfrastructureError(
        `${what} failed (${command} exited with ${result.status ?? result.signal}). Last log lines:\n${tail(logFile, 20)}`,
      );
    }
  } finally {
    closeSync(fd);
  }
}

export function tail(file: string, lines: number): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Starts a throwaway MariaDB or MySQL server: a fresh datadir in a temp directory, a free port on
 * 127.0.0.1, root with a password usable over TCP, and the database created. The embedded default
 * of the gate when no --mysql URL is given.
 */
export async function startLocalServer(options: StartLocalServerOptions = {}): Promise<LocalServer> {
  const { binary, flavor } = findServerBinary(options.binary);
  const password = options.password ?? randomBytes(12).toString('hex');
  const database = options.database ?? 'test';
  const baseDir = mkdtempSync(path.join(os.tmpdir(), 'athena-bench-mysql-'));
  const socket = path.join(baseDir, 'mysqld.sock');
  const errorLog = path.join(baseDir, 'error.log');
  const user = currentUser();
  let child: ChildProcess | undefined;
  let entry: { child: ChildProcess; baseDir: string } | undefined;

  const cleanup = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      await stopChild(child, 20_000);
    }
    if (entry) liveServers.delete(entry);
    await rm(baseDir, { recursive: true, force: true });
  };

  try {
    initializeDataDir(binary, flavor, path.join(baseDir, 'data'), errorLog, user);
    const port = options.port ?? (await findFreePort());
    installExitHook();
    child = spawn(binary, serverArgs(flavor, baseDir, port, user, options.extraArgs ?? []), {
      stdio: 'ignore',
    });
    entry = { child, baseDir };
    liveServers.add(entry);
    const version = await Promise.race([
      configureWhenReady(socket, password, database, options.startTimeoutMs ?? 60_000, errorLog),
      exitDuringStartUp(child, binary, errorLog),
    ]);
    const pid = child.pid ?? 0;
    const stop = async () => {
      await cleanup();
    };
    return { host: '127.0.0.1', port, user: 'root', password, database, version, flavor, baseDir, pid, stop };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** mysqld's options: everything in `baseDir`, listening on 127.0.0.1:`port` only. */
function serverArgs(
  flavor: ServerFlavor,
  baseDir: string,
  port: number,
  user: string,
  extraArgs: readonly string[],
): string[] {
  return [
    '--no-defaults',
    `--datadir=${path.join(baseDir, 'data')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${path.join(baseDir, 'mysqld.sock')}`,
    `--pid-file=${path.join(baseDir, 'mysqld.pid')}`,
    `--log-error=${path.join(baseDir, 'error.log')}`,
    `--user=${user}`,
    '--skip-name-resolve',
    '--max-connections=4000',
    '--innodb-buffer-pool-size=256M',
    // A throwaway benchmark server: durability is not what is measured.
    '--innodb-flush-log-at-trx-commit=2',
    '--performance-schema=OFF',
    ...(flavor === 'mysql' ? ['--mysqlx=OFF', '--skip-log-bin'] : []),
    ...extraArgs,
  ];
}

/** Rejects, with the error log's last lines, when the server exits before it is ready. */
function exitDuringStartUp(child: ChildProcess, binary: string, errorLog: string): Promise<never> {
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) =>
      reject(
        new InfrastructureError(
          `${path.basename(binary)} exited during start-up (${code ?? signal}). Last log lines:\n${tail(errorLog, 20)}`,
        ),
      ),
    );
  });
  exited.catch(() => undefined);
  return exited;
}

/**
 * Creates a fresh data directory with mariadb-install-db (MariaDB) or `mysqld --initialize-insecure`
 * (MySQL 8). MariaDB's bootstrap has been seen to crash (signal 11 in ha_maria::drop_table) once
 * in a few hundred runs, so a failed attempt is retried once on an emptied directory.
 */
export function initializeDataDir(
  binary: string,
  flavor: ServerFlavor,
  dataDir: string,
  log: string,
  user = currentUser(),
): void {
  const attempt = () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (flavor === 'mariadb') {
      const installDb = which('mariadb-install-db') ?? which('mysql_install_db');
      if (!installDb) {
        throw new InfrastructureError(`mariadb-install-db not found next to ${binary}. ${INSTALL_HINT}`);
      }
      runChecked(
        installDb,
        [
          '--no-defaults',
          `--datadir=${dataDir}`,
          `--user=${user}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          '--skip-name-resolve',
        ],
        log,
        'Initialising the MariaDB data directory',
      );
    } else {
      runChecked(
        binary,
        ['--no-defaults', '--initialize-insecure', `--datadir=${dataDir}`, `--user=${user}`],
        log,
        'Initialising the MySQL data directory',
      );
    }
  };
  try {
    attempt();
  } catch (error) {
    if (error instanceof InfrastructureError && /not found/.test(error.message)) throw error;
    attempt();
  }
}

/** Polls the server's socket until it answers, then sets the root password and creates the database. */
async function configureWhenReady(
  socket: string,
  password: string,
  database: string,
  timeoutMs: number,
  errorLog: string,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    let conn: mysql.Connection | undefined;
    try {
      conn = await mysql.createConnection({
        socketPath: socket,
        user: 'root',
        password: '',
        multipleStatements: true,
      });
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    try {
      const quoted = conn.escape(password);
      await conn.query(
        [
          `CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY ${quoted}`,
          `GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION`,
          `CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ${quoted}`,
          `ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY ${quoted}`,
          `GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION`,
          `CREATE DATABASE IF NOT EXISTS \`${database.replace(/`/g, '``')}\``,
          `FLUSH PRIVILEGES`,
        ].join(';'),
      );
      const [rows] = await conn.query('SELECT VERSION() AS version');
      return String((rows as Array<{ version: string }>)[0]?.version ?? 'unknown');
    } finally {
      await conn.end().catch(() => undefined);
    }
  }
  throw new InfrastructureError(
    `The throwaway MySQL server did not answer on its socket within ${timeoutMs} ms (${errorMessage(lastError)}). ` +
      `Last log lines:\n${tail(errorLog, 20)}`,
  );
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Connection URL of a local server, password masked: for logs. */
export function describeServer(server: LocalServer): string {
  return `${server.flavor} ${server.version} at ${formatMysqlUrl(server)}`;
}
