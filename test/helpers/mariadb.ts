// A throwaway MySQL/MariaDB server that a test can kill (SIGKILL) and start again on the same
// datadir and port: what the backend-fault tests need and startLocalServer() (which removes its
// datadir on stop) does not offer.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { findServerBinary, initializeDataDir, stopChild, tail } from '../../src/mysql/localServer.ts';
import { findFreePort } from '../../src/util/net.ts';

export interface ManagedServer {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  baseDir: string;
  /** Pid of the running server, or null while it is down. */
  readonly pid: number | null;
  /** SIGKILL: the server dies without closing connections politely (as in a crash). */
  kill(): Promise<void>;
  /** Starts the server again on the same datadir and port; resolves once it answers over TCP. */
  restart(): Promise<void>;
  /** Stops the server and removes its directory; safe to call twice. */
  stop(): Promise<void>;
  /** Last lines of the server's error log (for assertion messages). */
  logTail(lines?: number): string;
}

const live = new Set<ChildProcess>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export async function startManagedServer(options: { database?: string } = {}): Promise<ManagedServer> {
  const { binary, flavor } = findServerBinary();
  const baseDir = mkdtempSync(path.join(os.tmpdir(), 'athena-reliability-mysql-'));
  const dataDir = path.join(baseDir, 'data');
  const socket = path.join(baseDir, 'mysqld.sock');
  const errorLog = path.join(baseDir, 'error.log');
  const password = `R${randomBytes(10).toString('hex')}`;
  const database = options.database ?? 'test';
  const port = await findFreePort();
  let child: ChildProcess | null = null;
  let stopped = false;
  hookExit();
  try {
    initializeDataDir(binary, flavor, dataDir, errorLog);
  } catch (error) {
    rmSync(baseDir, { recursive: true, force: true });
    throw error;
  }

  const args = [
    '--no-defaults',
    `--datadir=${dataDir}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${socket}`,
    `--pid-file=${path.join(baseDir, 'mysqld.pid')}`,
    `--log-error=${errorLog}`,
    `--user=${os.userInfo().username}`,
    '--skip-name-resolve',
    '--max-connections=4000',
    '--innodb-buffer-pool-size=64M',
    '--performance-schema=OFF',
    ...(flavor === 'mysql' ? ['--mysqlx=OFF', '--skip-log-bin'] : []),
  ];

  const launch = async (firstStart: boolean): Promise<void> => {
    const proc = spawn(binary, args, { stdio: 'ignore' });
    child = proc;
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    const deadline = Date.now() + 60_000;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`${binary} exited during start-up. Log:\n${tail(errorLog, 20)}`);
      }
      try {
        const conn = firstStart
          ? await mysql.createConnection({ socketPath: socket, user: 'root', password: '' })
          : await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password });
        try {
          if (firstStart) {
            const quoted = conn.escape(password);
            for (const sql of [
              `CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ${quoted}`,
              `ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY ${quoted}`,
              `GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION`,
              `CREATE DATABASE IF NOT EXISTS \`${database}\``,
              'FLUSH PRIVILEGES',
            ]) {
              await conn.query(sql);
            }
          }
        } finally {
          await conn.end().catch(() => undefined);
        }
        return;
      } catch (error) {
        lastError = error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`server did not answer within 60 s (${String(lastError)}). Log:\n${tail(errorLog, 20)}`);
  };

  const server: ManagedServer = {
    host: '127.0.0.1',
    port,
    user: 'root',
    password,
    database,
    baseDir,
    get pid() {
      const c = child as ChildProcess | null;
      return c !== null && c.exitCode === null && c.signalCode === null ? (c.pid ?? null) : null;
    },
    async kill() {
      const c = child as ChildProcess | null;
      if (c === null || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGKILL');
      await exited;
    },
    async restart() {
      if (stopped) throw new Error('server was stopped');
      await server.kill();
      await launch(false);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const c = child as ChildProcess | null;
      if (c !== null) await stopChild(c, 15_000);
      await rm(baseDir, { recursive: true, force: true });
    },
    logTail(lines = 20) {
      return tail(errorLog, lines);
    },
  };
  try {
    await launch(true);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
