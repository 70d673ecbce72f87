import type { Results } from '../results/schema.ts';
import type { Comparison, MetricComparison, WorkloadVerdict } from '../verdict/compare.ts';
import { formatDelta } from '../verdict/compare.ts';
import { VERDICT_MARK } from './comparison.ts';
import { plural, signedInterval } from '../util/format.ts';
import { comparedArms, throughputTable } from './markdown.ts';

/**
 * What `athena-bench run` leaves on the terminal: the verdict, one line per workload (its verdict,
 * the metric that decided it with Δ and interval, and why), the throughput table of the
 * performance-testing guide (docs/PERF.md), and where the full report is. The long tables stay in
 * report.md and report.html.
 */
export function renderTerminalSummary(
  results: Results,
  comparison: Comparison | null,
  paths: { report: string; html: string; results: string },
): string {
  const lines: string[] = [];
  if (comparison) {
    lines.push(`athena-bench: ${VERDICT_MARK[comparison.verdict]} — ${comparison.summaryLine}`, '');
    for (const w of comparison.workloads) lines.push(workloadLine(w));
  } else {
    lines.push(`athena-bench: suite ${results.suite.name} measured (no reference to judge against)`);
  }
  if (results.workloads.some((w) => w.samples.length > 0)) {
    lines.push('', ...throughputTable(results, comparedArms(results)));
  }
  const warnings = results.warnings.length + (comparison?.warnings.length ?? 0);
  lines.push('');
  if (warnings > 0) lines.push(`${plural(warnings, 'warning')}: see the report.`);
  lines.push(`report:  ${paths.report} (and ${paths.html})`, `results: ${paths.results}`, '');
  return lines.join('\n');
}

function workloadLine(w: WorkloadVerdict): string {
  const head = `  ${VERDICT_MARK[w.verdict].padEnd(16)} ${w.id.padEnd(18)}`;
  if (w.verdict === 'pass') {
    const clauses = passingMetrics(w).map(passClause);
    if (w.otherMachine !== null) clauses.push(`another machine: ${w.otherMachine}`);
    if (clauses.length > 0) return `${head} ${clauses.join('; ')}`;
  }
  const deciding = decidingMetric(w);
  if (!deciding) return `${head} no gated metric`;
  return `${head} ${deciding.label} ${formatDelta(deciding)}${interval(deciding)}${reason(deciding)}`;
}

/** On a pass, one count (the first gated work metric) and one timing (the first gated time metric). */
function passingMetrics(w: WorkloadVerdict): MetricComparison[] {
  const gated = w.metrics.filter((m) => m.policy === 'gate' && m.delta !== null && m.scale !== 'count');
  return (['work', 'time'] as const).flatMap((channel) => gated.find((m) => m.channel === channel) ?? []);
}

function passClause(m: MetricComparison): string {
  return `${m.channel === 'work' ? 'counts' : 'time'}: ${m.label} ${formatDelta(m)}${reason(m)}`;
}

/** The gated metric that decided the workload's verdict (the first with that verdict). */
function decidingMetric(w: WorkloadVerdict): MetricComparison | undefined {
  const gated = w.metrics.filter((m) => m.policy === 'gate');
  return gated.find((m) => m.verdict === w.verdict) ?? gated[0];
}

function resolutionText(m: MetricComparison): string {
  const r = m.resolution!;
  return `${r >= 10 ? Math.round(r) : r.toFixed(1)}${m.scale === 'points' ? ' pts' : '%'}`;
}

function interval(m: MetricComparison): string {
  if (m.ciLow === null || m.ciHigh === null || m.scale === 'count') return '';
  const unit = m.scale === 'points' ? ' pts' : '%';
  return ` ${signedInterval(m.ciLow, m.ciHigh, unit)}`;
}

function reason(m: MetricComparison): string {
  const threshold = `${m.thresholdPct}${m.scale === 'points' ? ' pts' : '%'}`;
  switch (m.verdict) {
    case 'regressed':
      return `, past the ${threshold} threshold`;
    case 'improved':
      return `, better by more than ${threshold}`;
    case 'pass':
      return m.resolution !== null && m.resolution > m.thresholdPct
        ? ` (no loss beyond ${threshold}; resolves ${resolutionText(m)} at this run's noise)`
        : `, within ±${threshold}`;
    case 'inconclusive':
      if (m.note) return `: ${m.note}`;
      return m.delta === null
        ? ': not measured on both sides'
        : `: worse than ${threshold} but not significant (Holm within the ${m.channel} channel); more rounds would tell`;
  }
}
