import type { Phase } from '../results/schema.ts';

export interface PhaseLabels {
  workload?: string;
  arm?: string;
}

/** Runs a step and records its wall time under a name (and the workload or arm it belongs to). */
export type PhaseTimer = <T>(name: string, fn: () => Promise<T> | T, labels?: PhaseLabels) => Promise<T>;

/** Records the wall time of each phase of a run with the engine's injected clock, so tests can use a fake one. */
export class PhaseRecorder {
  private readonly recorded: Phase[] = [];

  constructor(private readonly now: () => number) {}

  /** Runs fn and records its wall time, also when it throws: a failed phase still took that long. */
  async time<T>(name: string, fn: () => Promise<T> | T, labels: PhaseLabels = {}): Promise<T> {
    const startedMs = this.now();
    try {
      return await fn();
    } finally {
      this.recorded.push({
        name,
        ...labels,
        startedAt: new Date(startedMs).toISOString(),
        seconds: Math.max(0, this.now() - startedMs) / 1000,
      });
    }
  }

  /** The phases in the order they started (nested phases finish first, so sort by start). */
  phases(): Phase[] {
    return [...this.recorded].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }
}
