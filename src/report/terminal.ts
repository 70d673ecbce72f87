import type { Results } from '../results/schema.ts';
import type { Comparison, MetricComparison, WorkloadVerdict } from '../verdict/compare.ts';
import { formatDelta } from '../verdict/compare.ts';
import { VERDICT_MARK } from '../verdict/markdown.ts';
import { plural, signedInterval } from './format.ts';
import { comparedArms, throughputTable } from './markdown.ts';

/**
 * What `athena-bench run` leaves on the terminal: the verdict, one line per workload (its verdict,
 * the metric that decided it with Δ and interval, and why), the guide's throughput table, and
 * where the full report is. The long tables stay in report.md and report.html.
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
  const deciding = decidingMetric(w);
  const head = `  ${VERDICT_MARK[w.verdict].padEnd(16)} ${w.id.padEnd(18)}`;
  if (!deciding) return `${head} no gated metric`;
  return `${head} ${deciding.label} ${formatDelta(deciding)}${interval(deciding)}${reason(deciding)}`;
}

/** The gated metric that decided the workload's verdict (the first with that verdict). */
function decidingMetric(w: WorkloadVerdict): MetricComparison | undefined {
  const gated = w.metrics.filter((m) => m.policy === 'gate');
  return gated.find((m) => m.verdict === w.verdict) ?? gated[0];
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
      return `, within ±${threshold}`;
    case 'inconclusive': {
      if (m.note) return `: ${m.note}`;
      const beyond =
        m.ciLow !== null && m.ciHigh !== null && (m.ciLow > m.thresholdPct || m.ciHigh < -m.thresholdPct);
      return beyond
        ? `: beyond ±${threshold} but not significant over all the run's tests (Holm); more rounds would tell`
        : `: the interval crosses ±${threshold}; more rounds would tell`;
    }
  }
}
