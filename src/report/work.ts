import type { Results, WorkArm, WorkloadResult } from '../results/schema.ts';
import { workSamples } from '../results/schema.ts';
import type { WorkMetricName } from '../suite/schema.ts';
import { plural, wholeNumber } from './format.ts';
import { median, spreadPct } from './summary.ts';

/** The work channel's part of the report: counts per query by workload and arm. */

function countCell(w: WorkloadResult, arm: string, metric: WorkMetricName, digits: number): string {
  const values = workSamples(w, arm, metric);
  const m = median(values);
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

/** The table of counts, or nothing when the work channel did not run. */
export function workSection(results: Results): string[] {
  const rows: string[] = [];
  for (const w of results.workloads) {
    if (!w.work) continue;
    for (const [arm, measured] of Object.entries(w.work.arms)) {
      rows.push(
        `| ${w.title} | ${arm} | ${countCell(w, arm, 'instructions_per_query', 0)} | ` +
          `${countCell(w, arm, 'syscalls_per_query', 2)} | ${countCell(w, arm, 'backend_round_trips_per_query', 3)} | ` +
          `${countCell(w, arm, 'bytes_per_query', 0)} | ${windowsCell(measured)} | ${measured.profile ? `\`${measured.profile}\`` : '—'} |`,
      );
    }
  }
  if (rows.length === 0) return [];
  const first = results.workloads.find((w) => w.work)!.work!;
  return [
    '## Work per query',
    '',
    '| Workload | Arm | Instructions | Syscalls | MySQL round trips | MySQL bytes | Windows kept | Profile |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Counted with the proxy under valgrind (callgrind), ${plural(first.threads, 'client thread')}, ` +
      'windows of a fixed number of sysbench events; medians over the kept windows (± is half their range). ' +
      "Instructions are the proxy's user-space instructions (kernel time is not in them: the syscalls column is), " +
      'syscalls its read and write calls. Profiles open in KCachegrind.',
    '',
  ];
}
