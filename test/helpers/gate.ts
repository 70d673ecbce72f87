// Shared by the gate's failure-path tests (test/integration/gate/: cleanup, failures, missing-driver,
// mysql-unreachable, secrets): a scratch directory and a restartable MariaDB per file, one-workload
// suite files, the CLI arguments of a run against that server, and the cause line.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatMysqlUrl } from '../../src/mysql/index.ts';
import { which } from '../../src/util/which.ts';
import { startManagedServer, type ManagedServer } from './mariadb.ts';
import { ensureProxyBundle } from './proxy.ts';
import { writePointSelectSuite } from './cli.ts';

export const gateSkip = {
  skip: process.platform === 'linux' && which('sysbench') !== undefined ? false : 'needs Linux and sysbench',
};

export interface GateBench {
  server: ManagedServer;
  scratch: string;
  mysqlUrl: string;
  /** A suite file with one small sysbench point-select workload. */
  suiteFile(name: string, rounds: number, timeSec: number): string;
  /** `run --mysql <server> --suite <one workload> --no-baseline --out <out>`. */
  runArgs(name: string, out: string, rounds?: number, timeSec?: number): string[];
  /** A PATH with every executable of this one except `without` (symlinks in a fresh directory). */
  pathWithout(without: string[]): string;
  close(): Promise<void>;
}

export async function startGateBench(): Promise<GateBench> {
  const server = await startManagedServer();
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'gate-test-'));
  const mysqlUrl = formatMysqlUrl(server, { revealPassword: true });
  await ensureProxyBundle();
  const suiteFile = (name: string, rounds: number, timeSec: number): string =>
    writePointSelectSuite(scratch, name, rounds, timeSec, 2);

  return {
    server,
    scratch,
    mysqlUrl,
    suiteFile,
    runArgs: (name, out, rounds = 1, timeSec = 1) => [
      'run',
      '--mysql',
      mysqlUrl,
      '--suite',
      suiteFile(name, rounds, timeSec),
      '--no-baseline',
      '--out',
      out,
    ],
    pathWithout(without) {
      const dir = path.join(scratch, `path-without-${without.join('-')}`);
      mkdirSync(dir, { recursive: true });
      const seen = new Set<string>();
      for (const d of `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin`.split(':')) {
        if (!d) continue;
        let entries: string[];
        try {
          entries = readdirSync(d);
        } catch {
          continue;
        }
        for (const name of entries) {
          if (seen.has(name) || without.includes(name)) continue;
          seen.add(name);
          try {
            if (statSync(path.join(d, name)).isFile()) symlinkSync(path.join(d, name), path.join(dir, name));
          } catch {
            // unreadable entry: skip
          }
        }
      }
      return dir;
    },
    async close() {
      await server.stop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** The line of stderr that says why the run failed; fails the test when there is none. */
export function causeLine(stderr: string, pattern: RegExp): string {
  const line = stderr.split('\n').find((l) => pattern.test(l));
  assert.ok(line, `no stderr line matches ${pattern}:\n${stderr}`);
  return line;
}
