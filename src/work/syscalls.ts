import type { CallgrindProfile } from './callgrind.ts';

/**
 * A window's system calls, from callgrind's sysCount (`--collect-systime`): every call the proxy's
 * code made, whatever the family (epoll_wait, recvfrom, sendmsg, writev, futex…), counted to the C
 * function that made it — for nearly every call the C library's wrapper, named after the call.
 *
 * Clock reads are kept apart. Valgrind gives its guest no vDSO, so under it every clock_gettime,
 * gettimeofday and time() enters the kernel; run natively, the vDSO answers them in user space (bar
 * the per-thread CPU clocks). Counted in, they would be most of a proxy's calls (haproxy reads the
 * clock 12 times per point select under valgrind) and would swamp the calls that cost a kernel
 * entry on a real machine.
 */

export interface SyscallName {
  /** The call, as the function that made it names it: `epoll_wait`, `recv`, `writev`. */
  name: string;
  /** A clock read, which the vDSO answers natively (not in the window's syscall count). */
  clockRead: boolean;
}

export interface WindowSyscalls {
  /** System calls other than clock reads. */
  syscalls: number;
  clockReads: number;
  /** Calls by name, clock reads included. */
  byName: Map<string, number>;
}

/** The C functions behind the vDSO's calls on Linux (x86-64 and arm64). */
const CLOCK_READS: ReadonlySet<string> = new Set([
  'clock_gettime',
  'clock_gettime64',
  'gettimeofday',
  'time',
  'clock_getres',
  'getcpu',
  'sched_getcpu',
]);

/**
 * The call a function name stands for: glibc's wrappers carry symbol versions
 * (`clock_gettime@@GLIBC_2.17`), internal prefixes (`__libc_recv`, `__GI___close_nocancel`) and
 * variant suffixes (`__open_nocancel`, `__gettimeofday_syscall`); the call is what remains.
 */
export function syscallName(functionName: string): SyscallName {
  const name =
    functionName
      .replace(/@.*$/, '')
      .replace(/^(__GI_)?_*(libc_)?/, '')
      .replace(/(_nocancel)?(_adjusted|_syscall|_internal)?$/, '') || functionName;
  return { name, clockRead: CLOCK_READS.has(name) };
}

/** The system calls of one dump (a profile parsed with its sysCount column), or null without one. */
export function windowSyscalls(profile: CallgrindProfile): WindowSyscalls | null {
  if (profile.totalSyscalls === null) return null;
  const byName = new Map<string, number>();
  let clockReads = 0;
  for (const fn of profile.functions) {
    if (fn.selfSyscalls === 0) continue;
    const call = syscallName(fn.name);
    byName.set(call.name, (byName.get(call.name) ?? 0) + fn.selfSyscalls);
    if (call.clockRead) clockReads += fn.selfSyscalls;
  }
  return { syscalls: profile.totalSyscalls - clockReads, clockReads, byName };
}

export interface SyscallPerQuery {
  name: string;
  perQuery: number;
  clockRead: boolean;
}

/** Calls per query by name over several windows, most frequent first. */
export function syscallsPerQuery(
  windows: ReadonlyArray<Map<string, number>>,
  queries: number,
  limit: number,
): SyscallPerQuery[] {
  const merged = new Map<string, number>();
  for (const byName of windows) {
    for (const [name, count] of byName) merged.set(name, (merged.get(name) ?? 0) + count);
  }
  return [...merged]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([name, count]) => ({
      name,
      perQuery: queries > 0 ? count / queries : 0,
      clockRead: syscallName(name).clockRead,
    }));
}
