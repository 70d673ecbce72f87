import { readdirSync } from 'node:fs';
import path from 'node:path';
import { InfrastructureError } from '../util/errors.ts';
import { shellQuote } from '../util/shell.ts';
import type { Exec } from '../util/exec.ts';
import { which } from '../util/which.ts';

/**
 * Valgrind's callgrind tool, driven from outside the process: the proxy runs under
 * `valgrind --tool=callgrind`, and `callgrind_control` zeroes its counters before a window and
 * dumps them after it (through valgrind's gdbserver, vgdb). Callgrind rather than cachegrind:
 * cachegrind cannot be zeroed or dumped from outside, and the window must exclude start-up,
 * warm-up and shutdown.
 */

export const VALGRIND_INSTALL_HINT =
  '`sudo apt-get install -y valgrind` (Debian/Ubuntu; it brings callgrind_control)';

export type CallgrindDetection =
  | { available: true; valgrind: string; control: string; version: string }
  | { available: false; reason: string; installHint: string };

export async function detectCallgrind(
  exec: Exec,
  find: (name: string) => string | undefined = which,
): Promise<CallgrindDetection> {
  const valgrind = find('valgrind');
  const control = find('callgrind_control');
  if (!valgrind || !control) {
    const missing = [!valgrind && 'valgrind', !control && 'callgrind_control'].filter(Boolean).join(' and ');
    return { available: false, reason: `${missing} not found on PATH`, installHint: VALGRIND_INSTALL_HINT };
  }
  const result = await exec(valgrind, ['--version'], { timeoutMs: 10_000 }).catch(() => null);
  const version = /valgrind-(\S+)/.exec(result?.stdout ?? '')?.[1];
  if (result?.exitCode !== 0 || !version) {
    return {
      available: false,
      reason: `\`${valgrind} --version\` failed${result ? ` (exit ${result.exitCode})` : ''}`,
      installHint: VALGRIND_INSTALL_HINT,
    };
  }
  if (!atLeast(version, MIN_VALGRIND)) {
    return {
      available: false,
      reason: `valgrind ${version} is older than ${MIN_VALGRIND.join('.')}, the first to count system calls (--collect-systime)`,
      installHint: VALGRIND_INSTALL_HINT,
    };
  }
  return { available: true, valgrind, control, version };
}

/** The oldest valgrind whose callgrind has --collect-systime. */
const MIN_VALGRIND = [3, 15] as const;

function atLeast(version: string, minimum: readonly number[]): boolean {
  const parts = version.split('.').map((p) => Number.parseInt(p, 10));
  for (const [i, want] of minimum.entries()) {
    const have = parts[i] ?? 0;
    if (Number.isNaN(have)) return false;
    if (have !== want) return have > want;
  }
  return true;
}

/**
 * The shell line that runs `start` under callgrind, every child process included (a proxy started
 * by a shell script, or one that forks workers, is measured whole). Counting starts at once but
 * the engine zeroes the counters before each window; string and position compression are off so
 * each dump file stands alone. --fair-sched=yes: valgrind runs one thread at a time, and its
 * default lock is a pipe, read and written around every blocking system call — which /proc counts
 * as the proxy's own reads and writes (measured on Athena at point select: 17.0 ± 0.5 per query
 * with the pipe, 4.01 with the futex-based fair lock: exactly its client and backend reads and
 * writes). Instruction counts are the same with either. --fair-sched also hands the one running
 * slot to a proxy's threads in turn, so a multi-threaded proxy (haproxy runs a thread per core)
 * makes progress on every thread. --collect-systime=yes: callgrind counts each system call to the
 * function that made it (sysCount; sysTime, its wall time in ms, is not read). Measured on haproxy
 * at point select, it counted the same epoll_wait and send calls `strace -c -f` counted natively,
 * and left instruction counts as they were.
 */
export function callgrindStartCommand(valgrind: string, start: string, profileDir: string): string {
  const out = path.join(profileDir, 'callgrind.%p.out');
  return [
    'exec',
    shellQuote(valgrind),
    '--tool=callgrind',
    '--fair-sched=yes',
    '--collect-systime=yes',
    '--trace-children=yes',
    '--compress-strings=no',
    '--compress-pos=no',
    `--callgrind-out-file=${shellQuote(out)}`,
    'sh',
    '-c',
    shellQuote(start),
  ].join(' ');
}

/** The newest dump callgrind wrote for pid in dir (`callgrind.<pid>.out.<part>`), or null. */
export function latestDump(dir: string, pid: number): string | null {
  const prefix = `callgrind.${pid}.out.`;
  let best: { part: number; file: string } | null = null;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const part = Number(name.slice(prefix.length));
    if (Number.isInteger(part) && (best === null || part > best.part)) best = { part, file: name };
  }
  return best ? path.join(dir, best.file) : null;
}

/**
 * Zeroes or dumps the counters of every callgrind process among pids. Processes of the tree that
 * are not under callgrind (none, with --trace-children) or that exited meanwhile are skipped; at
 * least one must answer.
 */
export async function controlCallgrind(
  exec: Exec,
  control: string,
  action: 'zero' | 'dump',
  pids: readonly number[],
  signal?: AbortSignal,
): Promise<number[]> {
  const flag = action === 'zero' ? '-z' : '-d';
  const answered: number[] = [];
  const problems: string[] = [];
  for (const pid of pids) {
    const result = await exec(control, [flag, String(pid)], { timeoutMs: 60_000, signal });
    if (result.exitCode === 0 && !/no active callgrind/i.test(result.stdout + result.stderr)) {
      answered.push(pid);
    } else {
      problems.push(`pid ${pid}: ${(result.stderr || result.stdout).trim() || `exit ${result.exitCode}`}`);
    }
  }
  if (answered.length === 0) {
    throw new InfrastructureError(
      `callgrind_control ${flag} reached no callgrind process (${problems.join('; ')}). It talks to valgrind ` +
        'through vgdb, which needs ptrace: on Ubuntu runners run `sudo sysctl -w kernel.yama.ptrace_scope=0` first.',
    );
  }
  return answered;
}
