/**
 * Children spawned `detached` lead their own process group, so one signal reaches the whole tree
 * (a shell and the proxy it runs, sysbench and its threads). Groups registered here and still
 * running when this process exits are killed, so none outlives the gate.
 */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

/** Signals the whole process group led by pid; a group that is already gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Whether any process of the group led by pid is still there. */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Resolves once every process of the group has exited (true), or after timeoutMs (false). A
 * shell's exit does not mean its children are gone: a proxy being torn down (valgrind writing its
 * last profile, a large heap unmapped) still holds its port for a moment.
 */
export async function waitGroupGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Remembers a group to kill if this process exits before it does. */
export function trackGroup(pid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const group of liveGroups) signalGroup(group, 'SIGKILL');
    });
  }
  liveGroups.add(pid);
}

/** The group has ended (or was killed): forget it. */
export function untrackGroup(pid: number): void {
  liveGroups.delete(pid);
}
