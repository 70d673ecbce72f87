import type { Results, WorkArm, WorkloadResult } from '../results/schema.ts';
import { workSamples } from '../results/schema.ts';
import type { WorkMetricName } from '../model/metrics.ts';
import { plural, wholeNumber } from '../util/format.ts';
import { medianOrNull } from '../model/stats.ts';
import { spreadPct } from './summary.ts';

/** The work channel's part of the report: counts per query by workload and arm. */

function countCell(w: WorkloadResult, arm: string, metric: WorkMetricName, digits: number): string {
  const values = workSamples(w, arm, metric);
  const m = medianOrNull(values);
  if (m === null) return '—';
  const spread = spreadPct(values);
  const text = m >= 1000 ? wholeNumber(m) : m.toFixed(digits);
  return spread === null ? text : `${text} ±${spread.toFixed(spread < 1 ? 2 : 1)}%`;
}

function windowsCell(measured: WorkArm): string {
  const kept = measured.windows.length - measured.firstKept;
  const settled = measured.settled ? 'settled' : '**did not settle**';
  return `${kept} of ${measured.windows.length} (${settled})`;
}

/** The most frequent calls per query, clock reads last: `epoll_wait 2.01, recv 2.00 …`. */
function syscallsLine(title: string, arm: string, measured: WorkArm): string | null {
  const calls = measured.topSyscalls.filter((c) => c.perQuery >= 0.01);
  if (calls.length === 0) return null;
  const named = (list: typeof calls) => list.map((c) => `${c.name} ${c.perQuery.toFixed(2)}`).join(', ');
  const counted = calls.filter((c) => !c.clockRead).slice(0, 6);
  const clocks = calls.filter((c) => c.clockRead);
  const clockText = clocks.length > 0 ? `; clock reads (not counted): ${named(clocks)}` : '';
  return `- ${title} · ${arm}: ${named(counted) || 'none'}${clockText}`;
}

/** The most threads the arm's process tree had at the end of a kept window. */
function threadsCell(measured: WorkArm): string {
  const threads = measured.windows
    .slice(measured.firstKept)
    .flatMap((w) => (w.threads === null ? [] : [w.threads]));
  return threads.length > 0 ? String(Math.max(...threads)) : '—';
}

/** The table of counts, or nothing when the work channel did not run. */
export function workSection(results: Results): string[] {
  const rows: string[] = [];
  const syscallLines: string[] = [];
  for (const w of results.workloads) {
    if (!w.work) continue;
    for (const [arm, measured] of Object.entries(w.work.arms)) {
      rows.push(
        `| ${w.title} | ${arm} | ${countCell(w, arm, 'instructions_per_query', 0)} | ` +
          `${countCell(w, arm, 'syscalls_per_query', 2)} | ${countCell(w, arm, 'backend_round_trips_per_query', 3)} | ` +
          `${countCell(w, arm, 'bytes_per_query', 0)} | ${threadsCell(measured)} | ${windowsCell(measured)} | ` +
          `${measured.profile ? `\`${measured.profile}\`` : '—'} |`,
      );
      const line = syscallsLine(w.title, arm, measured);
      if (line) syscallLines.push(line);
    }
  }
  if (rows.length === 0) return [];
  const first = results.workloads.find((w) => w.work)!.work!;
  return [
    '## Work per query',
    '',
    '| Workload | Arm | Instructions | Syscalls | MySQL round trips | MySQL bytes | Threads | Windows kept | Profile |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Counted with the proxy under valgrind (callgrind), ${plural(first.threads, 'client thread')}, ` +
      'windows of a fixed number of sysbench events; medians over the kept windows (± is half their range). ' +
      "Instructions are the proxy's user-space instructions (kernel time is not in them: the syscalls column is), " +
      'syscalls every system call its process tree made but clock reads, which natively the vDSO answers ' +
      'without entering the kernel. Profiles open in KCachegrind.',
    '',
    ...(syscallLines.length > 0
      ? ['System calls per query by name (the C function that made them):', '', ...syscallLines, '']
      : []),
  ];
}
