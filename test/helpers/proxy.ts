// Launches the real proxy bundle (proxy/dist/athena.js) as a child process with a config written
// for the test, on free ports; waits until it listens; keeps its log; stops it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '../../src/util/net.ts';
import { parsePrometheus, type MetricSample } from './metrics.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PROXY_BUNDLE = path.join(REPO_ROOT, 'proxy', 'dist', 'athena.js');

export interface BackendSpec {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
  ssl_mode?: string;
  ssl_ca?: string;
}

/** The backend a proxy under test uses: the throwaway server's own root account. */
export function backendOf(server: {
  host: string;
  port: number;
  user: string;
  password: string;
}): BackendSpec {
  return { host: server.host, port: server.port, user: server.user, password: server.password };
}

export interface ProxyUser {
  name: string;
  password: string;
  max_qps?: number;
  burst?: number;
  max_connections?: number;
}

export interface ProxyOptions {
  backend: BackendSpec;
  users: ProxyUser[];
  server?: Partial<{
    max_connections: number;
    handshake_timeout_ms: number;
    shutdown_grace_ms: number;
    backend_connect_timeout_ms: number;
    max_allowed_packet: number;
    max_handshake_packet: number;
    max_handshakes_per_ip: number;
    max_login_failures_per_ip: number;
    login_failure_window_secs: number;
    tls_cert_file: string;
    tls_key_file: string;
    require_secure_transport: boolean;
  }>;
  pool?: Partial<{ max_idle: number; max_age_secs: number; max_idle_time_secs: number; max_open: number }>;
  circuit?: Partial<{ max_concurrent_per_user_shard: number; queue_size: number; queue_timeout_ms: number }>;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

export interface RunningProxy {
  host: string;
  port: number;
  metricsPort: number;
  pid: number;
  configPath: string;
  /** Everything the proxy wrote to stdout and stderr so far. */
  log(): string;
  /** Resolves with the first log line matching `pattern` (waits for it up to timeoutMs). */
  waitForLog(pattern: RegExp, timeoutMs: number): Promise<string>;
  metrics(): Promise<MetricSample[]>;
  /** Resident set size of the proxy process now, from /proc. */
  rssBytes(): number;
  /** True while the process is running. */
  alive(): boolean;
  /** SIGTERM (SIGKILL after a grace period); removes the config directory. Safe to call twice. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * Builds proxy/dist/athena.js with the project's build script when it is missing or older than its
 * sources. A lock directory keeps two test files from writing the bundle at the same time.
 */
export async function ensureProxyBundle(): Promise<string> {
  const lock = path.join(os.tmpdir(), 'athena-bench-proxy-bundle.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than two minutes was left by a dead process.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmdirSync(lock);
      } catch {
        // gone already
      }
      if (Date.now() > deadline) throw new Error(`could not take ${lock}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    const stale =
      !existsSync(PROXY_BUNDLE) ||
      statSync(PROXY_BUNDLE).mtimeMs < newestMtime(path.join(REPO_ROOT, 'proxy', 'src'));
    if (stale) {
      const result = spawnSync(process.execPath, ['scripts/build.mjs', '--proxy-only'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      });
      if (result.status !== 0) throw new Error(`building the proxy failed:\n${result.stderr}`);
    }
  } finally {
    rmdirSync(lock);
  }
  return PROXY_BUNDLE;
}

function tomlString(value: string): string {
  return JSON.stringify(value);
}

function tomlTable(name: string, values: Record<string, string | number | boolean | undefined>): string {
  const lines = [`[${name}]`];
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    lines.push(`${key} = ${typeof value === 'string' ? tomlString(value) : String(value)}`);
  }
  return lines.join('\n');
}

export function proxyConfigToml(options: ProxyOptions, port: number, metricsPort: number): string {
  const { backend } = options;
  const parts = [
    tomlTable('server', {
      listen_addr: '127.0.0.1',
      listen_port: port,
      metrics_addr: '127.0.0.1',
      metrics_port: metricsPort,
      ...options.server,
    }),
    tomlTable('backend', {
      host: backend.host,
      port: backend.port,
      user: backend.user,
      password: backend.password,
      database: backend.database,
      ssl_mode: backend.ssl_mode,
      ssl_ca: backend.ssl_ca,
    }),
    ...options.users.map((user) =>
      tomlTable('[users]', {
        name: user.name,
        password: user.password,
        max_qps: user.max_qps,
        burst: user.burst,
        max_connections: user.max_connections,
      }),
    ),
  ];
  if (options.pool) parts.push(tomlTable('pool', options.pool));
  if (options.circuit) parts.push(tomlTable('circuit', options.circuit));
  return `${parts.join('\n\n')}\n`;
}

const running = new Set<ChildProcess>();
let exitHooked = false;

export async function spawnProxy(options: ProxyOptions): Promise<RunningProxy> {
  const bundle = await ensureProxyBundle();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'athena-reliability-proxy-'));
  const port = await findFreePort();
  let metricsPort = await findFreePort();
  while (metricsPort === port) metricsPort = await findFreePort();
  const configPath = path.join(dir, 'athena.toml');
  writeFileSync(configPath, proxyConfigToml(options, port, metricsPort), { mode: 0o600 });

  // Raise the open-file limit as far as the hard limit allows (CI runs `ulimit -n 65535`); exec
  // keeps the proxy's pid the child's pid.
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      'ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"',
      process.execPath,
      bundle,
      '--config',
      configPath,
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.add(child);
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
  let text = '';
  const watchers = new Set<() => void>();
  const onChunk = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    for (const w of [...watchers]) w();
  };
  child.stdout.on('data', onChunk);
  child.stderr.on('data', onChunk);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      for (const w of [...watchers]) w();
      resolve({ code, signal });
    });
  });

  const waitForLog = (pattern: RegExp, timeoutMs: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const line = text.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) {
          done();
          resolve(line);
          return true;
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(
            new Error(
              `proxy exited (${child.exitCode ?? child.signalCode}) before logging ${pattern}:\n${text}`,
            ),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`proxy did not log ${pattern} within ${timeoutMs} ms:\n${text}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        watchers.delete(watcher);
      };
      const watcher = (): void => void check();
      if (!check()) watchers.add(watcher);
    });

  let stopped: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null = null;
  const proxy: RunningProxy = {
    host: '127.0.0.1',
    port,
    metricsPort,
    pid: child.pid ?? 0,
    configPath,
    log: () => text,
    waitForLog,
    async metrics() {
      const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      return parsePrometheus(await response.text());
    },
    rssBytes() {
      return procRssBytes(child.pid ?? 0);
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.kill('SIGTERM');
          await exited;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
        return exited;
      })();
      return stopped;
    },
  };
  try {
    await waitForLog(/listening on/, options.readyTimeoutMs ?? 20_000);
  } catch (error) {
    await proxy.stop();
    throw error;
  }
  return proxy;
}

/** VmRSS of a process, in bytes (0 when it is gone). */
export function procRssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Reads a whole text file (for grepping logs). */
export async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8');
}

/** The soft open-file limit of a process (from /proc), or null when unlimited/unknown. */
export function openFileLimit(pid: number | 'self' = 'self'): number | null {
  try {
    const match = /^Max open files\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return match && /^\d+$/.test(match[1]!) ? Number(match[1]) : null;
  } catch {
    return null;
  }
}
