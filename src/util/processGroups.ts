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
