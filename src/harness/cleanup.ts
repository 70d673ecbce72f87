/**
 * Actions that must run at the end of a benchmark whatever happens (stop proxies, drop data,
 * remove worktrees, stop the throwaway server), run in reverse order of registration. Failures
 * are collected, not thrown, so one broken step never skips the others.
 */
export class CleanupStack {
  private readonly steps: Array<{ what: string; fn: () => Promise<void> }> = [];

  add(what: string, fn: () => Promise<void>): void {
    this.steps.push({ what, fn });
  }

  async runAll(): Promise<string[]> {
    const problems: string[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.fn();
      } catch (error) {
        problems.push(`${step.what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return problems;
  }
}
