import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InfrastructureError, UsageError } from '../util/errors.ts';
import type { MysqlConnection } from '../mysql/url.ts';
import type { Exec } from '../util/exec.ts';
import { which } from '../util/which.ts';
import { shellQuote } from '../util/shell.ts';
import { nodeWorkFlags } from '../work/runtime.ts';
import { makeSelfSignedCertificate } from '../util/certificate.ts';
import {
  BACKEND_PASSWORD_VARIABLE,
  envPasswordVariable,
  renderBenchmarkConfig,
} from '../../proxy/src/contract.ts';

/** A proxy the benchmark runs next to direct MySQL (the contract of the engine, see ENGINE docs). */
export interface ProxyArmSpec {
  /** 'proxy' for the proxy under test; e.g. 'haproxy', 'base'. */
  name: string;
  role: 'proxy' | 'reference' | 'base';
  /** Shell command run once before start (timeout, output kept in <out>/logs/<name>-build.log). */
  build?: string;
  /** Shell command that runs the proxy in the foreground; gets the ATHENA_BENCH_* environment. */
  start: string;
  /**
   * The start command for the work channel, when it differs (a Node proxy gets V8 flags that make
   * its instruction counts repeatable and its JIT code named); default: `start`.
   */
  workStart?: string;
  /** Where clients connect. */
  port: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** Prometheus endpoint, scraped before and after each run. */
  metricsUrl?: string;
  cwd: string;
  /** Extra environment of build and start (e.g. proxy secrets); never written to results. */
  env?: Record<string, string>;
  /** Require athena_queries_total delta >= 95% of the driver's queries. */
  trafficCheck: boolean;
  readyTimeoutMs?: number;
  /** Files the engine writes before the build (e.g. a generated config); they hold no secrets. */
  files?: Array<{ path: string; contents: string }>;
  /** The config to record in results.json (secrets removed), when there is one. */
  recordedConfig?: string;
  /** The commit the arm was built from (base-vs-head). */
  commit?: string;
  /** Clients connect to it with TLS, with the client files in this directory (see DriverContext). */
  clientTls?: { filesDir: string };
}

/** What an arm factory gets: arms whose ports, configs or worktrees depend on the run. */
export interface ArmContext {
  mysql: MysqlConnection & { database: string };
  outDir: string;
  exec: Exec;
  allocatePort: () => Promise<number>;
  /** Registers an action run at the end of the benchmark, on every path. */
  addCleanup: (what: string, fn: () => Promise<void>) => void;
}

export type ArmFactory = (ctx: ArmContext) => Promise<ProxyArmSpec>;
export type ArmSource = ProxyArmSpec | ArmFactory;

/** The build of this repo's proxy: one esbuild bundle, proxy/dist/athena.js. */
export const ATHENA_BUILD_COMMAND = 'node scripts/build.mjs --proxy-only';

/** Athena's config for a benchmark on the given ports, MySQL as its backend (proxy/src/contract.ts). */
export function athenaConfig(
  mysql: MysqlConnection,
  ports: { listen: number; metrics: number },
  tls?: { certFile: string; keyFile: string },
): string {
  return renderBenchmarkConfig({
    listenPort: ports.listen,
    metricsPort: ports.metrics,
    backend: { host: mysql.host, port: mysql.port, user: mysql.user },
    ...(tls ? { tls } : {}),
  });
}

/**
 * This repo's Athena: built with `node scripts/build.mjs --proxy-only` in repoRoot, started with a
 * generated config. Without ports it uses the performance-testing guide's (docs/PERF.md) 3307 and 4307.
 */
export function defaultProxyArm(
  mysql: MysqlConnection,
  repoRoot: string,
  opts: {
    port?: number;
    metricsPort?: number;
    configPath?: string;
    name?: string;
    role?: ProxyArmSpec['role'];
    /** Offer TLS to clients with this certificate and key (PEM files). */
    tls?: { certFile: string; keyFile: string };
  } = {},
): ProxyArmSpec {
  const port = opts.port ?? 3307;
  const metricsPort = opts.metricsPort ?? 4307;
  const configPath = opts.configPath ?? path.join(repoRoot, '.athena-bench', 'athena.toml');
  const contents = athenaConfig(mysql, { listen: port, metrics: metricsPort }, opts.tls);
  return {
    name: opts.name ?? 'proxy',
    role: opts.role ?? 'proxy',
    build: ATHENA_BUILD_COMMAND,
    start: `node proxy/dist/athena.js --config ${shellQuote(configPath)}`,
    workStart: `node ${nodeWorkFlags(path.dirname(configPath))} proxy/dist/athena.js --config ${shellQuote(configPath)}`,
    port,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    cwd: repoRoot,
    env: {
      [BACKEND_PASSWORD_VARIABLE]: mysql.password,
      [envPasswordVariable('USER', mysql.user)]: mysql.password,
    },
    trafficCheck: true,
    files: [{ path: configPath, contents }],
    recordedConfig: contents,
  };
}

/** defaultProxyArm on free ports with its config in the run's output directory. */
export function athenaArm(
  repoRoot: string,
  opts: { name?: string; role?: ProxyArmSpec['role'] } = {},
): ArmFactory {
  return async (ctx) => {
    const name = opts.name ?? 'proxy';
    return defaultProxyArm(ctx.mysql, repoRoot, {
      name,
      role: opts.role,
      port: await ctx.allocatePort(),
      metricsPort: await ctx.allocatePort(),
      configPath: path.join(ctx.outDir, name === 'proxy' ? 'athena.toml' : `athena-${name}.toml`),
    });
  };
}

/**
 * This repository's Athena with TLS on the client leg, as a reference arm: what encrypting the
 * client connections costs, next to the plain proxy. Its certificate is self-signed, made with
 * openssl; the benchmark clients connect with TLS and do not verify it. The pair lives in a
 * private temporary directory outside the run's directory, removed at the end of the run: the run's
 * directory is uploaded as an artifact, and a private key has no place in it (even a throwaway one).
 */
export function athenaTlsArm(repoRoot: string): ArmFactory {
  return async (ctx) => {
    const tlsDir = mkdtempSync(path.join(os.tmpdir(), 'athena-bench-tls-'));
    ctx.addCleanup(`the TLS arm's key directory ${tlsDir}`, () =>
      rm(tlsDir, { recursive: true, force: true }),
    );
    if (isInside(path.resolve(ctx.outDir), tlsDir)) {
      throw new UsageError(
        `the athena-tls arm keeps its private key in the temporary directory ${os.tmpdir()}, which is ` +
          `inside the results directory ${ctx.outDir} (uploaded as an artifact): choose a results directory outside it`,
      );
    }
    const certDir = path.join(tlsDir, 'server');
    mkdirSync(certDir, { mode: 0o700 });
    const { certFile, keyFile } = await makeSelfSignedCertificate(ctx.exec, certDir);
    // sysbench 1.0 with TLS reads these from its working directory; Athena does not ask for a
    // client certificate, so the proxy's own pair serves.
    const filesDir = path.join(tlsDir, 'client');
    mkdirSync(filesDir, { mode: 0o700 });
    copyFileSync(certFile, path.join(filesDir, 'cacert.pem'));
    copyFileSync(certFile, path.join(filesDir, 'client-cert.pem'));
    copyFileSync(keyFile, path.join(filesDir, 'client-key.pem'));
    const spec = defaultProxyArm(ctx.mysql, repoRoot, {
      name: 'athena-tls',
      role: 'reference',
      port: await ctx.allocatePort(),
      metricsPort: await ctx.allocatePort(),
      configPath: path.join(ctx.outDir, 'athena-tls.toml'),
      tls: { certFile, keyFile },
    });
    return { ...spec, clientTls: { filesDir } };
  };
}

/** Whether `inner` is `outer` or below it. */
function isInside(outer: string, inner: string): boolean {
  const relative = path.relative(outer, inner);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * A bare Node TCP pipe in front of MySQL (scripts/node-pipe.mjs): the floor of a proxy written
 * for Node, as a reference arm. Under the work channel it gets the same V8 flags as Athena.
 */
export function nodePipeArm(repoRoot: string): ArmFactory {
  return async (ctx) => ({
    name: 'node-pipe',
    role: 'reference',
    start: 'node scripts/node-pipe.mjs',
    workStart: `node ${nodeWorkFlags(ctx.outDir)} scripts/node-pipe.mjs`,
    port: await ctx.allocatePort(),
    cwd: repoRoot,
    trafficCheck: false,
  });
}

/** haproxy in TCP mode: an L4 reference that parses nothing (the floor a MySQL proxy is compared to). */
export function haproxyConfig(mysql: MysqlConnection, listenPort: number): string {
  return [
    '# Generated by athena-bench: haproxy as a plain TCP (L4) reference proxy in front of MySQL.',
    'global',
    // Two descriptors per connection: 4000 fits a 10,000-descriptor limit and any suite's threads.
    '  maxconn 4000',
    '',
    'defaults',
    '  mode tcp',
    '  maxconn 4000',
    '  timeout connect 5s',
    '  timeout client 1h',
    '  timeout server 1h',
    '',
    'frontend mysql_in',
    `  bind 127.0.0.1:${listenPort}`,
    '  default_backend mysql_out',
    '',
    'backend mysql_out',
    `  server mysql ${mysql.host.includes(':') ? `[${mysql.host}]` : mysql.host}:${mysql.port}`,
    '',
  ].join('\n');
}

export function haproxyArm(): ArmFactory {
  return async (ctx) => {
    const binary = which('haproxy');
    if (!binary) {
      throw new InfrastructureError(
        'the haproxy reference arm needs haproxy: `sudo apt-get install -y haproxy` (Debian/Ubuntu) or `brew install haproxy` (macOS)',
      );
    }
    const port = await ctx.allocatePort();
    const cfg = path.join(ctx.outDir, 'haproxy.cfg');
    const contents = haproxyConfig(ctx.mysql, port);
    return {
      name: 'haproxy',
      role: 'reference',
      // -db: stay in the foreground, so the engine watches and stops the real process.
      start: `${shellQuote(binary)} -db -f ${shellQuote(cfg)}`,
      port,
      cwd: ctx.outDir,
      trafficCheck: false,
      files: [{ path: cfg, contents }],
      recordedConfig: contents,
    };
  };
}

/** How the base arm is built and started, when it differs from this repository's Athena at the checkout's root. */
export interface BaseArmCommands {
  /** The proxy's directory relative to the checkout ('' for its root). */
  relativeCwd?: string;
  build?: string;
  /** A proxy other than Athena: run in the worktree, listening on $ATHENA_BENCH_PROXY_PORT. */
  start?: string;
}

/**
 * The proxy as built from another git ref: a worktree of `checkout` in a temp directory (removed
 * at the end), sharing the checkout's node_modules through a symlink, built and started like the
 * head arm on other ports. The verdict then gates head against base from the same run.
 */
export function baseRefArm(checkout: string, ref: string, commands: BaseArmCommands = {}): ArmFactory {
  return async (ctx) => {
    const { dir, commit } = await addBaseWorktree(ctx, checkout, ref);
    const relativeCwd = commands.relativeCwd ?? '';
    shareNodeModules(checkout, dir, relativeCwd);
    const cwd = path.join(dir, relativeCwd);
    const build = commands.build !== undefined ? { build: commands.build } : {};
    if (commands.start !== undefined) {
      // Its port is only known here: the start command must listen on $ATHENA_BENCH_PROXY_PORT.
      const port = await ctx.allocatePort();
      return {
        name: 'base',
        role: 'base',
        ...build,
        start: commands.start,
        port,
        cwd,
        trafficCheck: false,
        commit,
      };
    }
    const spec = defaultProxyArm(ctx.mysql, cwd, {
      name: 'base',
      role: 'base',
      port: await ctx.allocatePort(),
      metricsPort: await ctx.allocatePort(),
      configPath: path.join(ctx.outDir, 'athena-base.toml'),
    });
    return { ...spec, ...build, commit };
  };
}

/** A detached worktree of ref in a temp directory, removed (and pruned) when the run ends. */
async function addBaseWorktree(
  ctx: ArmContext,
  checkout: string,
  ref: string,
): Promise<{ dir: string; commit: string }> {
  const git = (args: string[]) => ctx.exec('git', ['-C', checkout, ...args], { timeoutMs: 120_000 });
  const resolved = await git(['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`]);
  if (resolved.exitCode !== 0) {
    throw new UsageError(`base-ref ${ref}: not a commit in ${checkout} (${resolved.stderr.trim()})`);
  }
  const commit = resolved.stdout.trim();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'athena-bench-worktree-'));
  ctx.addCleanup(`git worktree ${dir}`, async () => {
    await git(['worktree', 'remove', '--force', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    await git(['worktree', 'prune']).catch(() => undefined);
  });
  const added = await git(['worktree', 'add', '--detach', dir, commit]);
  if (added.exitCode !== 0) {
    throw new InfrastructureError(`git worktree add for base-ref ${ref} failed: ${added.stderr.trim()}`);
  }
  return { dir, commit };
}

/**
 * The worktree builds with the checkout's dependencies: node_modules (not in git) is linked from
 * the checkout's root and from the proxy's directory, where each exists.
 */
function shareNodeModules(checkout: string, worktree: string, relativeCwd: string): void {
  for (const sub of new Set(['', relativeCwd])) {
    const modules = path.join(checkout, sub, 'node_modules');
    const link = path.join(worktree, sub, 'node_modules');
    if (existsSync(modules) && existsSync(path.dirname(link)) && !existsSync(link)) {
      symlinkSync(modules, link, 'dir');
    }
  }
}
