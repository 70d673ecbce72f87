// Shared by the proxy integration tests: bundles proxy/src/main.ts exactly as scripts/build.mjs
// does (same esbuild options), into a per-test temp file so parallel test files never read a
// half-written proxy/dist/athena.js, then runs it as a real process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleOptions } from '../../scripts/bundles.mjs';
import { findFreePort } from '../../src/util/net.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Bundles the proxy like `node scripts/build.mjs --proxy-only`; returns the bundle's path. */
export async function bundleProxy(dir: string): Promise<string> {
  const outfile = path.join(dir, 'athena.js');
  await build(bundleOptions('proxy', outfile));
  return outfile;
}

export interface BackendSpec {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface ProxyOptions {
  backend: BackendSpec;
  users?: Array<{
    name: string;
    password: string;
    max_qps?: number;
    burst?: number;
    max_connections?: number;
  }>;
  /** Extra TOML lines appended to [server]. */
  server?: string[];
  pool?: Partial<{ max_idle: number; max_age_secs: number; max_idle_time_secs: number; max_open: number }>;
  circuit?: Partial<{ max_concurrent_per_user_shard: number; queue_size: number; queue_timeout_ms: number }>;
  env?: Record<string, string>;
}

export interface RunningProxy {
  port: number;
  metricsPort: number;
  child: ChildProcess;
  /** Everything the proxy wrote to stderr so far. */
  logs(): string;
  metrics(): Promise<string>;
  /** Value of one series in /metrics, e.g. series('athena_queries_total{type="select"}'). */
  series(name: string): Promise<number>;
  /** SIGTERM and wait for exit; resolves the exit code. */
  stop(): Promise<number | null>;
}

export function parseSeries(text: string, name: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return Number.NaN;
}

export async function startProxy(
  bundle: string,
  workDir: string,
  options: ProxyOptions,
): Promise<RunningProxy> {
  const port = await findFreePort();
  const metricsPort = await findFreePort();
  const users = options.users ?? [{ name: 'root', password: options.backend.password }];
  const toml = [
    '[server]',
    'listen_addr = "127.0.0.1"',
    `listen_port = ${port}`,
    `metrics_port = ${metricsPort}`,
    ...(options.server ?? []),
    '',
    '[backend]',
    `host = "${options.backend.host}"`,
    `port = ${options.backend.port}`,
    `user = "${options.backend.user}"`,
    `password = "${options.backend.password}"`,
    '',
    ...users.flatMap((u) => [
      '[[users]]',
      `name = "${u.name}"`,
      `password = "${u.password}"`,
      `max_qps = ${u.max_qps ?? 0}`,
      `burst = ${u.burst ?? 0}`,
      ...(u.max_connections !== undefined ? [`max_connections = ${u.max_connections}`] : []),
      '',
    ]),
    '[pool]',
    ...Object.entries({
      max_idle: 20,
      max_age_secs: 3600,
      max_idle_time_secs: 300,
      max_open: 200,
      ...options.pool,
    }).map(([k, v]) => `${k} = ${v}`),
    '',
    '[circuit]',
    ...Object.entries({
      max_concurrent_per_user_shard: 50,
      queue_size: 200,
      queue_timeout_ms: 10000,
      ...options.circuit,
    }).map(([k, v]) => `${k} = ${v}`),
    '',
  ].join('\n');
  const configPath = path.join(workDir, `athena-${port}.toml`);
  writeFileSync(configPath, toml);
  const child = spawn(process.execPath, [bundle, '--config', configPath], {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proxy did not start within 20 s:\n${stderr}`)), 20_000);
    const check = (): void => {
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited with ${code} during start-up:\n${stderr}`));
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  const metrics = async (): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    return res.text();
  };
  return {
    port,
    metricsPort,
    child,
    logs: () => stderr,
    metrics,
    series: async (name) => parseSeries(await metrics(), name),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return child.exitCode;
    },
  };
}

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Sums athena_queries_total over every type. */
export function totalQueries(metricsText: string): number {
  let total = 0;
  for (const line of metricsText.split('\n')) {
    if (line.startsWith('athena_queries_total{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
