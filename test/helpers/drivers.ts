// For the drivers' integration tests: a throwaway server with a `bench` database for the whole file,
// the DriverContext that points a driver at it, and a query on it.
import { after, before } from 'node:test';
import mysql from 'mysql2/promise';
import type { DriverContext } from '../../src/drivers/types.ts';
import { startLocalServer, type LocalServer } from '../../src/mysql/index.ts';
import { realExec } from '../../src/util/exec.ts';

export interface BenchServer {
  /** The server, once the file's `before` has started it. */
  readonly server: LocalServer;
  ctx(overrides?: Partial<DriverContext>): DriverContext;
  query<T>(sql: string): Promise<T[]>;
}

/** Registers the file's before/after hooks that start and stop the server. */
export function benchServer(): BenchServer {
  let started: LocalServer | undefined;
  before(async () => {
    started = await startLocalServer({ database: 'bench' });
  });
  after(async () => {
    await started?.stop();
  });
  const server = (): LocalServer => {
    if (started === undefined) throw new Error('the bench server is not started yet');
    return started;
  };
  const ctx = (overrides: Partial<DriverContext> = {}): DriverContext => {
    const s = server();
    return {
      target: { host: s.host, port: s.port, user: s.user, password: s.password, database: 'bench' },
      exec: realExec,
      ...overrides,
    };
  };
  const query = async <T>(sql: string): Promise<T[]> => {
    const conn = await mysql.createConnection({ ...ctx().target });
    try {
      const [rows] = await conn.query(sql);
      return rows as T[];
    } finally {
      await conn.end();
    }
  };
  return {
    get server() {
      return server();
    },
    ctx,
    query,
  };
}
