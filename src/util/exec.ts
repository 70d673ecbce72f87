import { spawn, type ChildProcess } from 'node:child_process';
import { InfrastructureError } from './errors.ts';
import { signalGroup, trackGroup, untrackGroup } from './processGroups.ts';

/**
 * The one place child processes for drivers and builds are spawned. No shell is involved: the
 * command and its arguments are passed as they are (a caller who wants a shell runs `sh -c`).
 */
export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process (group) after this many milliseconds; the result then has timedOut: true. */
  timeoutMs?: number;
  /** Kill the process (group) when aborted; the result then has aborted: true. */
  signal?: AbortSignal;
  /** Called for each complete line (without the newline) as it arrives, and for a final partial line. */
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Written to the child's stdin, which is then closed. Without it stdin is /dev/null. */
  stdin?: string;
  /** Grace between SIGTERM and SIGKILL when killing on timeout/abort (default 2000 ms). */
  killGraceMs?: number;
  /** Only the last this-many characters of each stream are kept (default 8 MiB). */
  maxOutputChars?: number;
}

export interface ExecResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** True when the process was killed because timeoutMs elapsed. */
  timedOut?: boolean;
  /** True when the process was killed because options.signal was aborted. */
  aborted?: boolean;
}

/**
 * Runs a command to completion. Resolves with its exit status and output whatever the exit code
 * (also on timeout/abort, flagged in the result); rejects with an InfrastructureError only when the
 * process could not be started at all (e.g. ENOENT: the binary does not exist).
 */
export type Exec = (command: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

const DEFAULT_KILL_GRACE_MS = 2000;
const DEFAULT_MAX_OUTPUT_CHARS = 8 * 1024 * 1024;

/** Splits a stream into lines for a callback, keeping the trailing partial line until the next chunk. */
class LineSplitter {
  private pending = '';
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: string): void {
    const text = this.pending + chunk;
    const parts = text.split('\n');
    this.pending = parts.pop() ?? '';
    for (const part of parts) this.onLine(part.endsWith('\r') ? part.slice(0, -1) : part);
  }
  flush(): void {
    if (this.pending !== '') this.onLine(this.pending);
    this.pending = '';
  }
}

/** Accumulates a stream's text, keeping only the last maxChars characters. */
class TailBuffer {
  private text = '';
  constructor(private readonly maxChars: number) {}
  push(chunk: string): void {
    this.text += chunk;
    if (this.text.length > 2 * this.maxChars) this.text = this.text.slice(-this.maxChars);
  }
  toString(): string {
    return this.text.length > this.maxChars ? this.text.slice(-this.maxChars) : this.text;
  }
}

export const realExec: Exec = (command, args, options = {}) =>
  new Promise<ExecResult>((resolve, reject) => {
    const started = performance.now();
    if (options.signal?.aborted) {
      resolve({ exitCode: null, signal: null, stdout: '', stderr: '', durationMs: 0, aborted: true });
      return;
    }
    let child: ChildProcess;
    try {
      child = spawnInGroup(command, args, options);
    } catch (error) {
      reject(new InfrastructureError(`could not start ${command}: ${String(error)}`, { cause: error }));
      return;
    }
    const pid = child.pid;
    if (pid !== undefined) trackGroup(pid);
    const output = new ChildOutput(child, options);
    const killer = new GroupKiller(pid, options);
    let spawnFailed = false;
    child.once('error', (error) => {
      // Spawn failures (ENOENT, EACCES) arrive here; 'close' may still follow, and is ignored.
      spawnFailed = true;
      killer.release();
      reject(new InfrastructureError(`could not start ${command}: ${error.message}`, { cause: error }));
    });
    // 'close' waits for stdout/stderr to end, so no output is lost.
    child.once('close', (exitCode, signal) => {
      if (spawnFailed) return;
      killer.release();
      killer.killLeftovers();
      const result = output.result(exitCode, signal, performance.now() - started);
      if (killer.timedOut) result.timedOut = true;
      if (killer.aborted) result.aborted = true;
      resolve(result);
    });
  });

function spawnInGroup(command: string, args: readonly string[], options: ExecOptions): ChildProcess {
  return spawn(command, [...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    // Its own process group, so a timeout/abort kills everything it started (sh -c, builds…).
    detached: true,
    windowsHide: true,
  });
}

/** A child's stdin fed, its stdout and stderr kept (tails) and split into lines for the callbacks. */
class ChildOutput {
  private readonly stdout: TailBuffer;
  private readonly stderr: TailBuffer;
  private readonly stdoutLines?: LineSplitter;
  private readonly stderrLines?: LineSplitter;

  constructor(child: ChildProcess, options: ExecOptions) {
    const maxChars = options.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS;
    this.stdout = new TailBuffer(maxChars);
    this.stderr = new TailBuffer(maxChars);
    if (options.onStdoutLine) this.stdoutLines = new LineSplitter(options.onStdoutLine);
    if (options.onStderrLine) this.stderrLines = new LineSplitter(options.onStderrLine);
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.stdout.push(chunk);
      this.stdoutLines?.push(chunk);
    });
    child.stderr!.on('data', (chunk: string) => {
      this.stderr.push(chunk);
      this.stderrLines?.push(chunk);
    });
    if (options.stdin !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // the child may exit without reading its input
      child.stdin.end(options.stdin);
    }
  }

  /** Flushes the partial last lines and returns what was kept. */
  result(exitCode: number | null, signal: NodeJS.Signals | null, durationMs: number): ExecResult {
    this.stdoutLines?.flush();
    this.stderrLines?.flush();
    return { exitCode, signal, stdout: this.stdout.toString(), stderr: this.stderr.toString(), durationMs };
  }
}

/** Kills a child's process group on timeout or abort: SIGTERM, then SIGKILL after the grace. */
class GroupKiller {
  timedOut = false;
  aborted = false;
  private killTimer: NodeJS.Timeout | undefined;
  private readonly timeoutTimer: NodeJS.Timeout | undefined;
  private readonly onAbort = () => {
    this.aborted = true;
    this.terminate();
  };

  constructor(
    private readonly pid: number | undefined,
    private readonly options: ExecOptions,
  ) {
    if (options.timeoutMs !== undefined) {
      this.timeoutTimer = setTimeout(() => {
        this.timedOut = true;
        this.terminate();
      }, options.timeoutMs);
    }
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Stops watching the clock and the abort signal, and forgets the group. */
  release(): void {
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    if (this.pid !== undefined) untrackGroup(this.pid);
  }

  /** After the child closed: grandchildren that ignored SIGTERM must not outlive the call. */
  killLeftovers(): void {
    if (!this.killTimer) return;
    clearTimeout(this.killTimer);
    if (this.pid !== undefined) signalGroup(this.pid, 'SIGKILL');
  }

  private terminate(): void {
    const pid = this.pid;
    if (pid === undefined || this.killTimer) return;
    signalGroup(pid, 'SIGTERM');
    this.killTimer = setTimeout(
      () => signalGroup(pid, 'SIGKILL'),
      this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    );
  }
}

/** The last `lines` lines of a text, for error messages. */
export function tailLines(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
