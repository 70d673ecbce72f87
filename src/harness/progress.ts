/**
 * Progress of a benchmark on stderr: one live line per run on a terminal (rewritten in place from
 * the driver's intermediate reports), plain lines in CI logs where a rewritten line would be noise.
 */
export interface RunInfo {
  workload: string;
  arm: string;
  /** 1-based; 0 for the warmup run. */
  round: number;
  rounds: number;
  durationSec: number;
  /** Estimate of the whole benchmark's remaining time, in seconds, when known. */
  remainingSec?: number;
}

export interface ProgressSink {
  runStarted(info: RunInfo): void;
  runProgress(p: { elapsedSec: number; tps: number; qps: number }): void;
  runFinished(summary: string): void;
  /** A line that stays (phase changes, warnings). */
  note(line: string): void;
}

export const silentProgress: ProgressSink = {
  runStarted: () => undefined,
  runProgress: () => undefined,
  runFinished: () => undefined,
  note: () => undefined,
};

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return s % 60 === 0 ? `${m}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

function label(info: RunInfo): string {
  const round = info.round === 0 ? 'warmup' : `round ${info.round}/${info.rounds}`;
  return `${info.workload} · ${info.arm} · ${round}`;
}

export function createProgress(stream: ProgressStream, now: () => number = Date.now): ProgressSink {
  return stream.isTTY ? new LiveLineProgress(stream, now) : new PlainProgress(stream);
}

class PlainProgress implements ProgressSink {
  private current: RunInfo | undefined;
  constructor(private readonly stream: ProgressStream) {}
  runStarted(info: RunInfo): void {
    this.current = info;
    const left =
      info.remainingSec !== undefined ? `, ~${formatDuration(info.remainingSec)} left in total` : '';
    this.stream.write(`${label(info)}: running ${formatDuration(info.durationSec)}${left}\n`);
  }
  runProgress(): void {
    // Intermediate reports would flood a CI log; the run's summary line is enough.
  }
  runFinished(summary: string): void {
    if (this.current) this.stream.write(`${label(this.current)}: ${summary}\n`);
    this.current = undefined;
  }
  note(line: string): void {
    this.stream.write(`${line}\n`);
  }
}

class LiveLineProgress implements ProgressSink {
  private current: RunInfo | undefined;
  private startedAt = 0;
  private last = '';
  constructor(
    private readonly stream: ProgressStream,
    private readonly now: () => number,
  ) {}
  runStarted(info: RunInfo): void {
    this.current = info;
    this.startedAt = this.now();
    this.render(`${label(info)}  0s/${formatDuration(info.durationSec)}${this.totalLeft(0)}`);
  }
  runProgress(p: { elapsedSec: number; tps: number; qps: number }): void {
    if (!this.current) return;
    const info = this.current;
    this.render(
      `${label(info)}  ${formatDuration(p.elapsedSec)}/${formatDuration(info.durationSec)}${this.totalLeft(p.elapsedSec)}  ` +
        `${p.tps.toFixed(0)} TPS  ${p.qps.toFixed(0)} QPS`,
    );
  }
  runFinished(summary: string): void {
    if (!this.current) return;
    const elapsed = (this.now() - this.startedAt) / 1000;
    this.render(`${label(this.current)}  ${formatDuration(elapsed)}  ${summary}`);
    this.stream.write('\n');
    this.last = '';
    this.current = undefined;
  }
  note(line: string): void {
    this.stream.write(`\r\x1b[2K${line}\n`);
    if (this.last) this.stream.write(this.last);
  }
  private totalLeft(elapsedSec: number): string {
    const left = this.current?.remainingSec;
    return left === undefined ? '' : `  ~${formatDuration(left - elapsedSec)} left`;
  }
  private render(text: string): void {
    const width = this.stream.columns ?? 120;
    this.last = `\r\x1b[2K${text.length >= width ? text.slice(0, width - 1) : text}`;
    this.stream.write(this.last);
  }
}
