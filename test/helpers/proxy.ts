// The one way tests start Athena: the real bundle (proxy/dist/athena.js, rebuilt when older than
// proxy/src) as a child process in its own process group, with a config rendered for the test on
// free ports; waits until it listens; keeps its log; stops it and waits for the whole group.
import { spawn, spawnSync } from 'node:child_process';
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
import mysql from 'mysql2/promise';
import { repoRoot } from '../../scripts/bundles.mjs';
import { findFreePort } from '../../src/util/net.ts';
import { parsePrometheus, parseSeries, type MetricSample } from './metrics.ts';

export const REPO_ROOT = repoRoot;
export const PROXY_BUNDLE = path.join(REPO_ROOT, 'proxy', 'dist', 'athena.js');

export interface BackendSpec {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
  ssl_mode?: string;
  ssl_ca?: string;
  ssl_verify_server_cert?: boolean;
  rsa_public_key_file?: string;
  get_server_public_key?: boolean;
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

export interface LaunchOptions {
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Keep only the last this many characters of the log (a long fuzz run logs a lot). */
  logLimit?: number;
}

export interface ProxyOptions extends LaunchOptions {
  backend: BackendSpec;
  /** Default: root with the backend's password. */
  users?: ProxyUser[];
  server?: Partial<{
    /** Default 127.0.0.1 (`RunningProxy.host` stays 127.0.0.1: connect to another address yourself). */
    listen_addr: string;
    max_connections: number;
    handshake_timeout_ms: number;
    shutdown_grace_ms: number;
    backend_connect_timeout_ms: number;
    max_allowed_packet: number;
    max_handshake_packet: number;
    max_handshakes_per_ip: number;
    max_handshakes: number;
    max_login_failures_per_ip: number;
    login_failure_window_secs: number;
    tls_cert_file: string;
    tls_key_file: string;
    require_secure_transport: boolean;
    max_user_connections: number;
    client_idle_timeout_secs: number;
    command_memory_budget: number;
  }>;
  pool?: Partial<{ max_idle: number; max_age_secs: number; max_idle_time_secs: number; max_open: number }>;
  circuit?: Partial<{ max_concurrent_per_user_shard: number; queue_size: number; queue_timeout_ms: number }>;
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
  /** /metrics as served (Prometheus text). */
  metricsText(): Promise<string>;
  /** Value of one series in /metrics, e.g. series('athena_queries_total{type="select"}'); NaN when absent. */
  series(name: string): Promise<number>;
  /** Resident set size of the proxy process now, from /proc. */
  rssBytes(): number;
  /** True while the process is running. */
  alive(): boolean;
  /**
   * SIGTERM to the process group (SIGKILL after a grace period), waits until no process of the group
   * is left, removes the config directory. Safe to call twice.
   */
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
      ssl_verify_server_cert: backend.ssl_verify_server_cert,
      rsa_public_key_file: backend.rsa_public_key_file,
      get_server_public_key: backend.get_server_public_key,
    }),
    ...(options.users ?? [{ name: 'root', password: backend.password }]).map((user) =>
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

/** A mysql2 connection to the proxy as one of its users. */
export function connectThrough(
  proxy: RunningProxy,
  user: { name: string; password: string },
): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: proxy.host,
    port: proxy.port,
    user: user.name,
    password: user.password,
  });
}

/** The TLS cipher of the backend session a user's plain connection through the proxy gets ("" on plain TCP). */
export async function backendCipher(
  proxy: RunningProxy,
  user: { name: string; password: string },
): Promise<string> {
  const conn = await connectThrough(proxy, user);
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
    return String(rows[0]?.Value ?? '');
  } finally {
    await conn.end();
  }
}

/** Process groups of the proxies started and not yet stopped: killed if the test process exits first. */
const running = new Set<number>();
let exitHooked = false;

/** Starts the proxy with a config of the usual form ([server], [backend], [[users]], [pool], [circuit]). */
export function spawnProxy(options: ProxyOptions): Promise<RunningProxy> {
  return launchProxy((port, metricsPort) => proxyConfigToml(options, port, metricsPort), options);
}

function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Starts the proxy with the config `render` writes for its two free ports. */
export async function launchProxy(
  render: (port: number, metricsPort: number) => string,
  options: LaunchOptions = {},
): Promise<RunningProxy> {
  const bundle = await ensureProxyBundle();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'athena-test-proxy-'));
  const port = await findFreePort();
  let metricsPort = await findFreePort();
  while (metricsPort === port) metricsPort = await findFreePort();
  const configPath = path.join(dir, 'athena.toml');
  writeFileSync(configPath, render(port, metricsPort), { mode: 0o600 });

  // Raise the open-file limit as far as the hard limit allows (CI runs `ulimit -n 65535`); exec
  // makes the child's pid the proxy's own, and its process group the proxy's alone.
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
      detached: true,
    },
  );
  const pid = child.pid ?? 0;
  running.add(pid);
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => {
      for (const p of running) signalGroup(p, 'SIGKILL');
    });
  }
  let text = '';
  const watchers = new Set<() => void>();
  const onChunk = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    if (options.logLimit !== undefined && text.length > 2 * options.logLimit)
      text = text.slice(-options.logLimit);
    for (const w of [...watchers]) w();
  };
  child.stdout.on('data', onChunk);
  child.stderr.on('data', onChunk);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
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

  const metricsText = async (): Promise<string> => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    return response.text();
  };
  let stopped: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null = null;
  const proxy: RunningProxy = {
    host: '127.0.0.1',
    port,
    metricsPort,
    pid,
    configPath,
    log: () => text,
    waitForLog,
    metricsText,
    async metrics() {
      return parsePrometheus(await metricsText());
    },
    async series(name) {
      return parseSeries(await metricsText(), name);
    },
    rssBytes() {
      return procRssBytes(pid);
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    stop() {
      stopped ??= (async () => {
        const kill = setTimeout(() => signalGroup(pid, 'SIGKILL'), 10_000);
        if (child.exitCode === null && child.signalCode === null) signalGroup(pid, 'SIGTERM');
        await exited;
        // The group outlives its leader while any process it started is still there.
        const deadline = Date.now() + 10_000;
        while (signalGroup(pid, 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        if (signalGroup(pid, 0)) signalGroup(pid, 'SIGKILL');
        clearTimeout(kill);
        running.delete(pid);
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
