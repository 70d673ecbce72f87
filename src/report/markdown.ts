import {
  roundsOf,
  type Arm,
  type Results,
  type RoundSample,
  type WorkloadResult,
} from '../results/schema.ts';
import { medianOrNull } from '../model/stats.ts';
import {
  addedLatencyPerRound,
  numbers,
  overheadPerRound,
  samplesOf,
  spreadPct,
  suiteWorkload,
  throughputUnit,
} from './summary.ts';
import { workSection } from './work.ts';
import { escapeCell, formatMeasured, plural, signedFixed } from '../util/format.ts';

/** GitHub's limit for a comment is 65,536 characters; the report stays well under it. */
export const REPORT_MAX_CHARS = 60_000;

function withSpread(values: number[], unit: string): string {
  const m = medianOrNull(values);
  if (m === null) return '—';
  const spread = spreadPct(values);
  const value = unit === '' ? formatMeasured(m) : `${formatMeasured(m)} ${unit}`;
  return `${value}${spread === null ? '' : ` ±${spread.toFixed(spread < 10 ? 1 : 0)}%`}`;
}

function armLabel(arm: Arm): string {
  if (arm.role === 'proxy') return /athena/i.test(arm.command ?? '') ? 'Athena' : 'proxy';
  return arm.name;
}

/** The arms measured against direct MySQL, proxy under test first. */
export function comparedArms(results: Results): Arm[] {
  const order = { proxy: 0, base: 1, reference: 2, direct: 3 } as const;
  return results.arms.filter((a) => a.role !== 'direct').sort((a, b) => order[a.role] - order[b.role]);
}

export function throughputTable(results: Results, arms: Arm[]): string[] {
  const header = ['Workload', 'Threads', 'Direct MySQL'];
  for (const [i, arm] of arms.entries()) {
    header.push(`Via ${armLabel(arm)}`, i === 0 ? 'Overhead' : `Overhead (${armLabel(arm)})`);
  }
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const w of results.workloads) {
    if (w.skipped !== null) {
      lines.push(
        `| ${escapeCell(w.title)} | ${w.threads} | skipped | ${arms.map(() => '— | —').join(' | ')} |`,
      );
      continue;
    }
    const unit = throughputUnit(suiteWorkload(results, w.id), w.driver);
    const label = unit.toUpperCase();
    const row = [
      escapeCell(w.title),
      String(w.threads),
      withSpread(
        samplesOf(w, 'direct').map((s) => s.metrics[unit]),
        label,
      ),
    ];
    for (const arm of arms) {
      row.push(
        withSpread(
          samplesOf(w, arm.name).map((s) => s.metrics[unit]),
          label,
        ),
      );
      const overhead = overheadPerRound(w, arm.name, unit);
      const m = medianOrNull(overhead);
      const range =
        overhead.length > 1
          ? ` (${formatMeasured(Math.min(...overhead))}…${formatMeasured(Math.max(...overhead))})`
          : '';
      row.push(m === null ? '—' : `${m.toFixed(1)}%${range}`);
    }
    lines.push(`| ${row.join(' | ')} |`);
  }
  return lines;
}

function latencyTable(results: Results, arms: Arm[]): string[] {
  const direct = { name: 'direct' } as Pick<Arm, 'name'>;
  return [
    '| Workload | Arm | p95 ms | p99 ms | added p95 ms | added p99 ms |',
    '| --- | --- | --- | --- | --- | --- |',
    ...armRows(results, [direct, ...arms], (w, arm, samples) => {
      const p95 = medianOrNull(numbers(samples.map((s) => s.metrics.latencyMs.p95)));
      const p99 = medianOrNull(numbers(samples.map((s) => s.metrics.latencyMs.p99)));
      const added = (key: 'p95' | 'p99') =>
        arm.name === 'direct' ? '' : signedFixed(medianOrNull(addedLatencyPerRound(w, arm.name, key)), 2);
      return `| ${escapeCell(w.title)} | ${arm.name} | ${formatMeasured(p95, 2)} | ${formatMeasured(p99, 2)} | ${added('p95')} | ${added('p99')} |`;
    }),
  ];
}

function resourceTable(results: Results, arms: Arm[]): string[] {
  return [
    '| Workload | Arm | CPU µs/query | CPU s per run | Peak RSS MB | Traffic seen by the proxy |',
    '| --- | --- | --- | --- | --- | --- |',
    ...armRows(results, arms, (w, arm, samples) => {
      const cpu = numbers(samples.map((s) => s.proxy?.cpuUsPerQuery));
      const cpuSec = medianOrNull(numbers(samples.map((s) => s.proxy?.cpuSeconds)));
      const rss = numbers(samples.map((s) => s.proxy?.peakRssMb));
      const checks = samples.map((s) => s.proxy?.trafficCheck).filter((c) => c !== undefined);
      const traffic =
        checks.length === 0
          ? 'not checked'
          : `${checks.filter((c) => c.ok).length}/${checks.length} runs ok (min ${formatMeasured(Math.min(...checks.map((c) => (100 * c.observedQueries) / Math.max(1, c.expectedQueries))))}%)`;
      return `| ${escapeCell(w.title)} | ${arm.name} | ${withSpread(cpu, '')} | ${formatMeasured(cpuSec, 2)} | ${rss.length ? formatMeasured(Math.max(...rss)) : '—'} | ${traffic} |`;
    }),
  ];
}

/** One row per measured workload and arm with samples, workload by workload. */
function armRows<A extends Pick<Arm, 'name'>>(
  results: Results,
  arms: A[],
  row: (w: WorkloadResult, arm: A, samples: RoundSample[]) => string,
): string[] {
  const rows: string[] = [];
  for (const w of results.workloads) {
    if (w.skipped !== null) continue;
    for (const arm of arms) {
      const samples = samplesOf(w, arm.name);
      if (samples.length > 0) rows.push(row(w, arm, samples));
    }
  }
  return rows;
}

/** What was measured: interleaved rounds (time), counted windows (work), or both. */
function channelsLine(results: Results, rounds: number): string {
  const time = plural(rounds, 'interleaved round');
  if (results.measure === 'time') return time;
  const work = 'work counted under valgrind';
  return results.measure === 'work' ? work : `${time} and ${work}`;
}

function harnessLine(results: Results): string | null {
  const shares = results.workloads.flatMap((w) =>
    w.driver === 'builtin' ? [] : numbers(w.samples.map((s) => s.harnessCpuShare)),
  );
  const gen = results.workloads.flatMap((w) => numbers(w.samples.map((s) => s.loadGeneratorCpuUsPerQuery)));
  const parts: string[] = [];
  if (shares.length > 0) {
    parts.push(
      `The harness (this process) used a median ${(100 * medianOrNull(shares)!).toFixed(2)}% and at most ${(100 * Math.max(...shares)).toFixed(2)}% of one core during measured runs.`,
    );
  }
  if (gen.length > 0) {
    parts.push(
      `The builtin load generator itself used a median ${formatMeasured(medianOrNull(gen))} µs CPU per query (its own cost, not the proxy's).`,
    );
  }
  return parts.length > 0 ? parts.join(' ') : null;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function environmentSection(results: Results): string[] {
  const env = results.environment;
  const hosts = new Set(results.arms.map((a) => a.host));
  const local = [...hosts].every((h) => h === '127.0.0.1' || h === 'localhost' || h === '::1');
  const direct = results.arms.find((a) => a.role === 'direct');
  const runner = Object.entries(env.runner)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const lines = [
    '## Test Environment',
    '',
    `- **Hardware**: ${env.cores} cores (${env.cpuModel}), ${gib(env.memoryBytes)} RAM; ${env.os}, ${env.kernel}${runner ? `; runner ${runner}` : ''}`,
    `- **MySQL Version**: ${env.mysqlVersion}${direct ? ` at ${direct.host}:${direct.port}` : ''}`,
    `- **Network**: ${local ? 'local loopback (MySQL, the proxies and the load generator on one machine)' : `hosts ${[...hosts].join(', ')}`}`,
    `- **Configuration**: sysbench ${env.sysbenchVersion ?? 'not installed'}, mysqlslap ${env.mysqlslapVersion ?? 'not installed'}, Node ${env.node}, \`ulimit -n\` ${env.ulimitNofile ?? 'unlimited/unknown'}, \`net.core.somaxconn\` ${env.somaxconn ?? 'unknown'}; suite \`${results.suite.name}\`, ${plural(results.suite.rounds, 'planned round')} per workload.`,
  ];
  for (const shard of results.shards ?? []) {
    const e = shard.environment;
    lines.push(
      `- **Shard ${shard.index}/${results.shards!.length}** (${shard.workloads.join(', ')}): ${e.cores} cores (${e.cpuModel}), ${gib(e.memoryBytes)} RAM, ${e.kernel}; MySQL ${e.mysqlVersion}; ${shard.startedAt} – ${shard.finishedAt}`,
    );
  }
  for (const arm of results.arms.filter((a) => a.role !== 'direct')) {
    lines.push(
      `- **Arm \`${arm.name}\`** (${arm.role}) on ${arm.host}:${arm.port}: \`${arm.command ?? ''}\`${arm.commit ? ` (commit ${arm.commit.slice(0, 12)})` : ''}`,
    );
  }
  for (const arm of results.arms.filter((a) => a.config)) {
    lines.push(
      '',
      `<details><summary>${arm.name} configuration</summary>`,
      '',
      '```',
      arm.config!.slice(0, 4000).trimEnd(),
      '```',
      '',
      '</details>',
    );
  }
  return lines;
}

function roundsDetails(results: Results): string[] {
  const lines = ['<details><summary>Every round (TPS / QPS / p95 ms, in the order run)</summary>', ''];
  for (const w of results.workloads) {
    if (w.skipped !== null || w.samples.length === 0) continue;
    lines.push(
      `**${w.title}**`,
      '',
      '| Round | Order | Arm | TPS | QPS | p95 ms | errors |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    const sorted = [...w.samples].sort((a, b) => a.round - b.round || a.position - b.position);
    for (const s of sorted.slice(0, 400)) {
      lines.push(
        `| ${s.round + 1} | ${s.position + 1} | ${s.arm} | ${formatMeasured(s.metrics.tps)} | ${formatMeasured(s.metrics.qps)} | ${formatMeasured(s.metrics.latencyMs.p95, 2)} | ${s.metrics.errors} |`,
      );
    }
    lines.push('');
  }
  lines.push('</details>');
  return lines;
}

/**
 * report.md: the performance-testing guide's table (docs/PERF.md) filled (medians of interleaved rounds with their spread), latency,
 * proxy CPU and memory, the test environment; warnings on top, the verdict first when given.
 */
export function renderMeasurementReport(results: Results, verdictMarkdown?: string): string {
  const out: string[] = [`# athena-bench: suite \`${results.suite.name}\``, '', statusLine(results), ''];
  if (verdictMarkdown) out.push(verdictMarkdown.trimEnd(), '');
  if (results.warnings.length > 0) {
    out.push('## Warnings', '', ...results.warnings.map((w) => `- ⚠️ ${w.replace(/\n/g, ' ')}`), '');
  }
  const measured = results.workloads.some((w) => w.samples.length > 0 || w.skipped !== null);
  if (measured) out.push(...measuredSections(results));
  out.push(...workSection(results));
  out.push(...phasesSection(results));
  out.push(...environmentSection(results), '');
  return withinLimit(out.join('\n'), roundsDetails(results));
}

/**
 * Where the run's wall time went: each phase summed over workloads and arms, in the order the
 * phases first started, with its share of the run. Steps inside the work channel are listed with
 * it ("work: …") and are part of its row. Absent for results written before phases were recorded.
 */
function phasesSection(results: Results): string[] {
  const phases = results.phases ?? [];
  if (phases.length === 0) return [];
  const totals = new Map<string, { seconds: number; workloads: Set<string> }>();
  for (const p of phases) {
    const total = totals.get(p.name) ?? { seconds: 0, workloads: new Set<string>() };
    total.seconds += p.seconds;
    if (p.workload !== undefined) total.workloads.add(p.workload);
    totals.set(p.name, total);
  }
  const runSeconds = (Date.parse(results.finishedAt) - Date.parse(results.startedAt)) / 1000;
  const share = (seconds: number) => (runSeconds > 0 ? `${Math.round((100 * seconds) / runSeconds)}%` : '–');
  const rows = [...totals].map(
    ([name, t]) =>
      `| ${name} | ${t.workloads.size > 0 ? t.workloads.size : '–'} | ${t.seconds.toFixed(1)} | ${share(t.seconds)} |`,
  );
  return [
    '## Where the time went',
    '',
    '| Phase | Workloads | Seconds | Share of the run |',
    '|---|--:|--:|--:|',
    ...rows,
    `| **the whole run** | | **${runSeconds.toFixed(1)}** | |`,
    '',
  ];
}

function statusLine(results: Results): string {
  if (results.status === 'failed') {
    return `**The run FAILED** and measured nothing a verdict can use: ${escapeCell(results.failure ?? 'unknown failure')}`;
  }
  const rounds = Math.max(0, ...results.workloads.map((w) => roundsOf(w)));
  return `Complete: ${results.workloads.filter((w) => w.skipped === null).length} workloads × ${results.arms.length} arms, ${channelsLine(results, rounds)}${results.git.commit ? `, commit ${results.git.commit.slice(0, 12)}` : ''}, ${results.startedAt}.`;
}

/** The time channel's tables: throughput and overhead, then latency and resources of the proxies. */
function measuredSections(results: Results): string[] {
  const arms = comparedArms(results);
  const out = ['## Direct MySQL vs proxy', '', ...throughputTable(results, arms), ''];
  out.push(
    `Medians over the rounds; ± is half the min–max range as a % of the median; overhead = 1 − proxy / direct throughput of the same round (median, with its range).`,
    '',
  );
  if (arms.length > 0) {
    out.push(
      '## Latency',
      '',
      ...latencyTable(results, arms),
      '',
      'Added = proxy − direct of the same round (median).',
      '',
    );
    out.push('## Proxy resources', '', ...resourceTable(results, arms), '');
    out.push(
      "CPU of the proxy's process tree (utime+stime from /proc, read at the start and end of each run) per query the driver counted; peak RSS = VmHWM, reset before each run.",
      '',
    );
  }
  const harness = harnessLine(results);
  if (harness) out.push(harness, '');
  return out;
}

/** The report with its per-round details when they fit under REPORT_MAX_CHARS, else without. */
function withinLimit(report: string, details: string[]): string {
  const withDetails = `${report}\n${details.join('\n')}\n`;
  let text =
    withDetails.length <= REPORT_MAX_CHARS
      ? withDetails
      : `${report}\n_Per-round details omitted to keep the report short; they are in results.json._\n`;
  if (text.length > REPORT_MAX_CHARS) {
    text = `${text.slice(0, REPORT_MAX_CHARS - 200)}\n\n_Report truncated at ${REPORT_MAX_CHARS} characters; results.json holds everything._\n`;
  }
  return text;
}
