import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { InfrastructureError } from '../util/errors.ts';
import type { Exec } from '../util/exec.ts';
import { probeMysqlHandshake } from './handshake.ts';
import { realFetcher, type Fetcher } from './prometheus.ts';
import { signalGroup, trackGroup, untrackGroup, waitGroupGone } from '../util/processGroups.ts';

/** How many log lines a failure message quotes. */
export const LOG_TAIL_LINES = 50;

export function fileTail(file: string, lines = LOG_TAIL_LINES): string {
  if (!existsSync(file)) return '(no output)';
  const text = readFileSync(file, 'utf8').trimEnd();
  return text === '' ? '(no output)' : text.split('\n').slice(-lines).join('\n');
}

/**
 * Runs an arm's build command (through `sh -c`, so it may be any shell line) with a timeout; the
 * output goes to logPath whatever happens, and a failure quotes its last lines.
 */
export async function runBuild(
  armName: string,
  command: string,
  opts: {
    exec: Exec;
    cwd: string;
    env: NodeJS.ProcessEnv;
    logPath: string;
    timeoutMs: number;
    signal?: AbortSignal;
  },
): Promise<void> {
  const result = await opts.exec('sh', ['-c', command], {
    cwd: opts.cwd,
    env: opts.env,
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
  });
  writeFileSync(opts.logPath, `$ ${command}\n${result.stdout}${result.stderr}`);
  if (result.aborted) throw new InfrastructureError(`build of arm "${armName}" was interrupted`);
  if (result.timedOut || result.exitCode !== 0) {
    const why = result.timedOut
      ? `did not finish within ${Math.round(opts.timeoutMs / 1000)} s`
      : `failed (exit ${result.exitCode ?? result.signal})`;
    throw new InfrastructureError(
      `build of arm "${armName}" ${why}: ${command} (in ${opts.cwd}). Last ${LOG_TAIL_LINES} lines of ${opts.logPath}:\n${fileTail(opts.logPath)}`,
    );
  }
}

/** A proxy started as a child process (its own process group, output appended to a log file). */
export class ProxyProcess {
  private exitInfo: string | null = null;
  private readonly exitWaiters: Array<(info: string) => void> = [];
  private stopping = false;

  private constructor(
    readonly armName: string,
    readonly logPath: string,
    private readonly child: ChildProcess,
  ) {
    child.once('exit', (code, signal) => {
      this.exitInfo = signal ? `killed by ${signal}` : `exit code ${code}`;
      if (child.pid !== undefined) {
        // The shell may have left the proxy it started running: stop the whole group.
        signalGroup(child.pid, 'SIGKILL');
        untrackGroup(child.pid);
      }
      for (const waiter of this.exitWaiters.splice(0)) waiter(this.exitInfo);
    });
  }

  /**
   * Starts `sh -c command`. The command must stay in the foreground (a daemonising proxy looks
   * like one that died); the shell and everything it starts form one process group.
   */
  static start(
    armName: string,
    command: string,
    opts: { cwd: string; env: NodeJS.ProcessEnv; logPath: string },
  ): ProxyProcess {
    const fd = openSync(opts.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn('sh', ['-c', command], {
        cwd: opts.cwd,
        env: opts.env,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) {
      throw new InfrastructureError(`could not start arm "${armName}": ${command}`);
    }
    trackGroup(child.pid);
    child.on('error', () => undefined);
    return new ProxyProcess(armName, opts.logPath, child);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** null while running; otherwise how it ended. */
  get exited(): string | null {
    return this.exitInfo;
  }

  /** Resolves with how the process ended, whenever it does. */
  waitExit(): Promise<string> {
    if (this.exitInfo !== null) return Promise.resolve(this.exitInfo);
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /** Calls fn when the process exits (at once if it has); returns the unsubscribe function. */
  onExit(fn: () => void): () => void {
    if (this.exitInfo !== null) {
      fn();
      return () => undefined;
    }
    const waiter = () => fn();
    this.exitWaiters.push(waiter);
    return () => {
      const index = this.exitWaiters.indexOf(waiter);
      if (index >= 0) this.exitWaiters.splice(index, 1);
    };
  }

  get wasStopped(): boolean {
    return this.stopping;
  }

  logTail(lines = LOG_TAIL_LINES): string {
    return fileTail(this.logPath, lines);
  }

  /** The error for a proxy that died on its own, quoting its log. */
  deathError(when: string): InfrastructureError {
    return new InfrastructureError(
      `arm "${this.armName}" exited ${when} (${this.exitInfo ?? 'still running'}). Last ${LOG_TAIL_LINES} lines of ${this.logPath}:\n${this.logTail()}`,
    );
  }

  /**
   * SIGTERM to the group, SIGKILL after graceMs; resolves once every process of the group is gone
   * (so its port is free for whatever starts next), or graceMs after the shell exited.
   */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    const pid = this.pid;
    if (this.exitInfo === null) {
      signalGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      await this.waitExit();
      clearTimeout(timer);
    }
    if (pid > 0) await waitGroupGone(pid, graceMs);
  }
}

/**
 * Runs fn (a driver run) while watching a proxy: when the proxy dies, fn's signal aborts and the
 * call fails with the proxy's log tail, whatever fn itself threw.
 */
export async function runWhileAlive<T>(
  proc: ProxyProcess | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
  outer: AbortSignal | undefined,
  when: string,
): Promise<T> {
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  if (proc?.exited) throw proc.deathError(`before a run`);
  const unsubscribe = proc?.onExit(() => controller.abort('proxy exited'));
  try {
    const result = await fn(controller.signal);
    if (proc?.exited) throw proc.deathError(when);
    return result;
  } catch (error) {
    if (proc?.exited) throw proc.deathError(when);
    throw error;
  } finally {
    unsubscribe?.();
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

export interface ReadyOptions {
  host: string;
  port: number;
  metricsUrl?: string;
  timeoutMs: number;
  fetcher?: Fetcher;
  signal?: AbortSignal;
}

/**
 * Waits until the proxy's port answers with a MySQL handshake (or ERR) and its metrics URL, if any,
 * answers 200. Fails at once when the process exits, and after timeoutMs with its log tail.
 */
export async function waitUntilReady(proxy: ProxyProcess, opts: ReadyOptions): Promise<void> {
  const fetcher = opts.fetcher ?? realFetcher;
  const deadline = Date.now() + opts.timeoutMs;
  let lastProblem = 'not tried yet';
  let handshakeOk = false;
  while (Date.now() < deadline) {
    if (opts.signal?.aborted) throw new InfrastructureError('interrupted while waiting for the proxy');
    if (proxy.exited !== null) throw proxy.deathError('before it was ready');
    const remaining = Math.max(100, Math.min(2000, deadline - Date.now()));
    if (!handshakeOk) {
      const probe = await probeMysqlHandshake(opts.host, opts.port, remaining);
      if (probe.ok) handshakeOk = true;
      else lastProblem = `${opts.host}:${opts.port}: ${probe.reason}`;
    }
    if (handshakeOk) {
      if (!opts.metricsUrl) return;
      try {
        const { status } = await fetcher(opts.metricsUrl, remaining);
        if (status === 200) return;
        lastProblem = `${opts.metricsUrl} answered HTTP ${status}`;
      } catch (error) {
        lastProblem = `${opts.metricsUrl}: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (proxy.exited !== null) throw proxy.deathError('before it was ready');
  throw new InfrastructureError(
    `arm "${proxy.armName}" was not ready within ${(opts.timeoutMs / 1000).toFixed(0)} s (last check: ${lastProblem}). ` +
      `Ready means: the port answers with a MySQL handshake${opts.metricsUrl ? ' and the metrics URL answers 200' : ''}. ` +
      `Last ${LOG_TAIL_LINES} lines of ${proxy.logPath}:\n${proxy.logTail()}`,
  );
}
