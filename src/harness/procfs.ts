import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

/**
 * Resource use of a process tree from Linux /proc, read at the start and at the end of a measured
 * run — never polled, so the harness does not compete with the proxy for CPU.
 *
 * Peak RSS: /proc/<pid>/status VmHWM is a process's lifetime peak, so before each run the engine
 * resets it by writing "5" to /proc/<pid>/clear_refs (allowed for our own children, as their owner
 * or as root; Linux >= 4.0). When that write fails, the caller falls back to a low-frequency
 * sampler of VmRSS (see RssSampler).
 */
export interface ProcFs {
  readFile(path: string): string;
  listDir(path: string): string[];
  writeFile(path: string, data: string): void;
}

export const realProcFs: ProcFs = {
  readFile: (p) => readFileSync(p, 'utf8'),
  listDir: (p) => readdirSync(p),
  writeFile: (p, data) => writeFileSync(p, data),
};

export function procAvailable(fs: ProcFs = realProcFs): boolean {
  try {
    fs.readFile('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime in clock ticks: own CPU plus that of reaped children. */
  cpuTicks: number;
}

/** Parses /proc/<pid>/stat; the command name may contain spaces and parentheses. */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  const pid = Number(text.slice(0, text.indexOf('(')).trim());
  // Fields after the command: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const field = (n: number) => Number(rest[n - 3]);
  const cpuTicks = field(14) + field(15) + field(16) + field(17);
  if (!Number.isFinite(pid) || !Number.isFinite(cpuTicks)) {
    throw new Error(`unexpected /proc stat format: ${text.slice(0, 120)}`);
  }
  return { pid, ppid: field(4), cpuTicks };
}

/** The pid and every descendant of it, from one pass over /proc/<pid>/stat. */
export function processTree(rootPid: number, fs: ProcFs = realProcFs): ProcStat[] {
  const all: ProcStat[] = [];
  for (const entry of fs.listDir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      all.push(parseProcStat(fs.readFile(`/proc/${entry}/stat`)));
    } catch {
      // The process exited between listing and reading.
    }
  }
  const children = new Map<number, ProcStat[]>();
  for (const p of all) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const root = all.find((p) => p.pid === rootPid);
  if (!root) return [];
  const tree: ProcStat[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const p = queue.shift()!;
    tree.push(p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return tree;
}

/** Total CPU ticks of a process tree (0 when it is gone). */
export function treeCpuTicks(rootPid: number, fs: ProcFs = realProcFs): number {
  return processTree(rootPid, fs).reduce((sum, p) => sum + p.cpuTicks, 0);
}

/**
 * Read and write system calls of a process tree so far (/proc/<pid>/io syscr + syscw: read,
 * readv, recvmsg… and write, writev, sendmsg…). epoll and timer calls are not in them, which is
 * what a count of the I/O a proxy does per query wants. Processes that exited are left out.
 */
export function treeIoSyscalls(rootPid: number, fs: ProcFs = realProcFs): number {
  let total = 0;
  for (const p of processTree(rootPid, fs)) {
    try {
      const text = fs.readFile(`/proc/${p.pid}/io`);
      total += ioField(text, 'syscr') + ioField(text, 'syscw');
    } catch {
      // Exited meanwhile.
    }
  }
  return total;
}

function ioField(text: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text);
  if (!match) throw new Error(`no ${key} in /proc/<pid>/io`);
  return Number(match[1]);
}

/** Reads one "Key:   value kB" line of /proc/<pid>/status, in kB; null when absent. */
export function statusKb(text: string, key: string): number | null {
  const match = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
  return match ? Number(match[1]) : null;
}

/** Resets the peak RSS (VmHWM) of every process of the tree; false if any reset was refused. */
export function resetPeakRss(rootPid: number, fs: ProcFs = realProcFs): boolean {
  const tree = processTree(rootPid, fs);
  if (tree.length === 0) return false;
  let ok = true;
  for (const p of tree) {
    try {
      fs.writeFile(`/proc/${p.pid}/clear_refs`, '5');
    } catch {
      ok = false;
    }
  }
  return ok;
}

/** Sum over the tree of each process's VmHWM (or VmRSS), in MB. */
export function treeRssMb(rootPid: number, key: 'VmHWM' | 'VmRSS', fs: ProcFs = realProcFs): number {
  let kb = 0;
  for (const p of processTree(rootPid, fs)) {
    try {
      kb += statusKb(fs.readFile(`/proc/${p.pid}/status`), key) ?? 0;
    } catch {
      // Exited meanwhile.
    }
  }
  return kb / 1024;
}

/**
 * Fallback when VmHWM cannot be reset: samples VmRSS of the tree twice a second (a timer that
 * reads a few small files: negligible next to the proxy's work) and keeps the maximum.
 */
export class RssSampler {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly rootPid: number,
    private readonly fs: ProcFs = realProcFs,
    private readonly intervalMs = 500,
  ) {}
  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
  private sample(): void {
    this.peak = Math.max(this.peak, treeRssMb(this.rootPid, 'VmRSS', this.fs));
  }
}

/** Threads of a process tree (/proc/<pid>/status Threads), 0 when it is gone. */
export function treeThreads(rootPid: number, fs: ProcFs = realProcFs): number {
  let threads = 0;
  for (const p of processTree(rootPid, fs)) {
    try {
      threads += Number(/^Threads:\s+(\d+)/m.exec(fs.readFile(`/proc/${p.pid}/status`))?.[1] ?? 0);
    } catch {
      // Exited meanwhile.
    }
  }
  return threads;
}
