import type { Results, WorkloadResult } from '../results/schema.ts';
import { directArmName, metricSamples } from '../results/schema.ts';
import { isPairedMetric, type MetricName, METRIC_DEFAULTS } from '../model/metrics.ts';
import type { Baseline } from '../verdict/baseline.ts';
import { type Verdict } from '../model/verdict.ts';
import { formatP, formatNumber } from '../util/format.ts';
import {
  formatDelta,
  type Comparison,
  type MetricComparison,
  type WorkloadVerdict,
} from '../verdict/compare.ts';
import { decisionRuleText } from './comparison.ts';
import { median } from '../model/stats.ts';
import { escapeXml as esc, intervalChart, lineChart, PALETTE, type IntervalRow, type Series } from './svg.ts';

const VERDICT_COLOR: Record<Verdict, string> = {
  regressed: '#d62728',
  improved: '#2ca02c',
  pass: '#4e79a7',
  inconclusive: '#e8a317',
};

/** Coloured text badges: emoji need a font the viewer may not have. */
function badge(v: Verdict | 'info', suffix = ''): string {
  return `<span class="badge ${v}">${v === 'info' ? 'info only' : v}</span>${suffix ? ` <span class="meta">${esc(suffix)}</span>` : ''}`;
}

const PER_ROUND_METRICS: MetricName[] = ['tps', 'latency_p95_ms', 'cpu_us_per_query', 'overhead_pct'];

export const REPORT_STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1180px;padding:0 16px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.summary{font-weight:600;margin:8px 0 12px}.warn{background:#fff8c5;border:1px solid #d4a72c;padding:8px 12px;border-radius:6px;margin:8px 0}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}.charts svg{border:1px solid #eaeef2;border-radius:6px;background:#fff}
.chart-title{font-size:13px;font-weight:600;fill:#1f2328}.tick{font-size:11px;fill:#57606a}.label{font-size:12px;fill:#1f2328}.muted{font-size:12px;fill:#8c959f}
.grid{stroke:#eaeef2;stroke-width:1}.zero{stroke:#57606a;stroke-width:1}.band{fill:#dafbe1}.bad{fill:#ffebe9}
.meta{color:#57606a;font-size:12px}details{margin:8px 0}code{font-size:12px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
.badge.regressed{background:#d62728}.badge.improved{background:#2ca02c}.badge.pass{background:#4e79a7}.badge.inconclusive{background:#e8a317}.badge.info{background:#8c959f}
`;

/**
 * One self-contained page (inline CSS and SVG, no script, nothing fetched at view time): the verdict
 * and per-workload tables when a comparison is given, per-round values of each arm, the change of
 * each metric with its interval against the threshold band, and the trend over `history`
 * (baselines, oldest first after sorting by date) when given.
 */
export function renderHtmlReport(
  results: Results,
  comparison?: Comparison,
  history: Baseline[] = [],
): string {
  const parts: string[] = [];
  const title = comparison ? `athena-bench: ${comparison.verdict}` : `athena-bench: ${results.suite.name}`;
  parts.push(`<h1>${esc(title)}</h1>`);
  parts.push(
    `<div class="meta">suite <code>${esc(results.suite.name)}</code> · started ${esc(results.startedAt)}` +
      `${results.git.commit ? ` · commit <code>${esc(results.git.commit.slice(0, 12))}</code>` : ''}` +
      ` · ${esc(results.environment.cpuModel)}, ${results.environment.cores} cores, MySQL ${esc(results.environment.mysqlVersion)}</div>`,
  );
  if (comparison) {
    parts.push(`<p class="summary">${badge(comparison.verdict)} ${esc(comparison.summaryLine)}</p>`);
    for (const w of comparison.warnings) parts.push(`<div class="warn">${esc(w)}</div>`);
    parts.push(
      `<p class="meta">Compared ${esc(comparison.current.label)} against ${esc(comparison.reference.label)}. Δ: shift in % of the reference (overhead in points). ` +
        `${esc(decisionRuleText(comparison))}</p>`,
    );
  }
  if (results.status === 'failed')
    parts.push(`<div class="warn">The run failed: ${esc(results.failure ?? 'no reason recorded')}</div>`);
  for (const w of results.warnings) parts.push(`<div class="warn">${esc(w)}</div>`);

  const sortedHistory = [...history].sort((a, b) => a.date.localeCompare(b.date));
  for (const w of results.workloads) {
    const verdict = comparison?.workloads.find((v) => v.id === w.id);
    parts.push(workloadSection(results, w, verdict, comparison, sortedHistory));
  }
  return htmlPage(title, REPORT_STYLE, parts);
}

/** A whole self-contained page: the title, inline CSS, and the body's parts. */
export function htmlPage(title: string, style: string, parts: readonly string[]): string {
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${esc(title)}</title><style>${style}</style></head><body>\n` +
    parts.join('\n') +
    '\n</body></html>\n'
  );
}

function workloadSection(
  results: Results,
  w: WorkloadResult,
  verdict: WorkloadVerdict | undefined,
  comparison: Comparison | undefined,
  history: Baseline[],
): string {
  const out: string[] = [];
  const mark = verdict ? `${badge(verdict.verdict)} ` : '';
  out.push(`<h2 id="w-${esc(w.id)}">${mark}${esc(w.id)} — ${esc(w.title)}, ${w.threads} threads</h2>`);
  if (w.skipped !== null) {
    out.push(`<p class="meta">Skipped: ${esc(w.skipped)}</p>`);
    return out.join('\n');
  }
  if (verdict && comparison) out.push(metricTable(verdict, comparison));
  const charts: string[] = [];
  if (verdict) charts.push(...intervalCharts(verdict, comparison!));
  charts.push(...perRoundCharts(results, w, verdict));
  if (history.length > 0) charts.push(...trendCharts(results, w, history, comparison));
  out.push(`<div class="charts">${charts.join('\n')}</div>`);
  if (verdict) out.push(rawSamples(verdict));
  return out.join('\n');
}

function metricTable(v: WorkloadVerdict, c: Comparison): string {
  const rows = v.metrics.map((m) => {
    const ci =
      m.ciLow === null || m.ciHigh === null
        ? '—'
        : `[${formatNumber(m.ciLow)}, ${formatNumber(m.ciHigh)}]${m.scale === 'points' ? ' pts' : '%'}`;
    const p = m.pAdjusted ?? m.pValue;
    const verdict =
      m.policy === 'info' ? badge('info') : badge(m.verdict, m.policy === 'warn' ? 'warn only' : '');
    return (
      `<tr><td>${esc(m.label)}</td><td class="num">${esc(formatNumber(m.baselineMedian))}</td><td class="num">${esc(formatNumber(m.currentMedian))}</td>` +
      `<td class="num">${esc(formatDelta(m))}</td><td>${esc(ci)}</td><td class="num">${p === null ? '—' : esc(formatP(p))}</td>` +
      `<td>${verdict}</td><td>${esc(m.note ?? '')}</td></tr>`
    );
  });
  return (
    `<table><thead><tr><th>metric</th><th>${c.mode === 'arms' ? 'base' : 'baseline'}</th><th>current</th><th>Δ</th>` +
    `<th>${Math.round(c.level * 100)}% CI</th><th>p (Holm)</th><th>verdict</th><th>note</th></tr></thead><tbody>` +
    rows.join('') +
    '</tbody></table>'
  );
}

function intervalCharts(v: WorkloadVerdict, c: Comparison): string[] {
  const row = (m: MetricComparison): IntervalRow | null =>
    m.delta === null || m.ciLow === null || m.ciHigh === null
      ? null
      : {
          label: m.label,
          estimate: m.delta,
          low: m.ciLow,
          high: m.ciHigh,
          threshold: m.thresholdPct,
          worseSign: m.direction === 'lower-better' ? 1 : -1,
          color: m.policy === 'info' ? '#8c959f' : VERDICT_COLOR[m.verdict],
          detail: `${m.label}: ${formatDelta(m)} (${m.policy === 'info' ? 'info only' : m.verdict})`,
        };
  const ref = c.mode === 'arms' ? 'base' : 'baseline';
  const relative = v.metrics
    .filter((m) => m.scale === 'relative')
    .map(row)
    .filter((r): r is IntervalRow => r !== null);
  const points = v.metrics
    .filter((m) => m.scale === 'points')
    .map(row)
    .filter((r): r is IntervalRow => r !== null);
  const charts = [
    intervalChart({ title: `Change vs ${ref} (% of its median), with intervals`, unit: '%', rows: relative }),
  ];
  if (points.length > 0)
    charts.push(intervalChart({ title: `Overhead change vs ${ref} (points)`, unit: '', rows: points }));
  return charts;
}

function perRoundCharts(results: Results, w: WorkloadResult, verdict: WorkloadVerdict | undefined): string[] {
  const arms = results.arms.map((a) => a.name).filter((name) => w.samples.some((s) => s.arm === name));
  const direct = directArmName(results);
  return PER_ROUND_METRICS.map((metric) => {
    const series: Series[] = [];
    arms.forEach((arm, i) => {
      if (isPairedMetric(metric) && arm === direct) return;
      const rounds = [...new Set(w.samples.filter((s) => s.arm === arm).map((s) => s.round))].sort(
        (a, b) => a - b,
      );
      const values = metricSamples(w, arm, metric, direct);
      if (values.length === 0 || values.length !== rounds.length) {
        if (values.length > 0)
          series.push({
            name: arm,
            points: values.map((y, k) => [k, y]),
            color: PALETTE[i % PALETTE.length]!,
          });
        return;
      }
      series.push({
        name: arm,
        points: values.map((y, k) => [rounds[k]!, y]),
        color: PALETTE[i % PALETTE.length]!,
      });
    });
    const ref = verdict?.metrics.find((m) => m.metric === metric && m.variant === 'raw');
    if (verdict && ref && ref.baselineSamples.length > 0) {
      series.push({
        name: referenceName(verdict),
        points: ref.baselineSamples.map((y, k) => [k, y]),
        color: '#8c959f',
      });
    }
    const spec = METRIC_DEFAULTS[metric];
    return lineChart({
      title: `${spec.label} per round`,
      yLabel: spec.unit || spec.label,
      series,
      width: 380,
    });
  });
}

function referenceName(v: WorkloadVerdict): string {
  return `reference (${v.rounds.baseline} rounds)`;
}

function trendCharts(
  results: Results,
  w: WorkloadResult,
  history: Baseline[],
  comparison: Comparison | undefined,
): string[] {
  const arm =
    comparison?.current.label.replace(/^arm /, '') ??
    results.arms.find((a) => a.role === 'proxy')?.name ??
    'proxy';
  const direct = directArmName(results);
  const labels: string[] = [];
  const charts: string[] = [];
  history.forEach((b) => labels.push(b.commit ? b.commit.slice(0, 7) : b.date.slice(0, 10)));
  labels.push('current');
  for (const metric of ['tps', 'cpu_us_per_query'] as const) {
    const points: [number, number][] = [];
    history.forEach((b, i) => {
      const bw = b.workloads.find((x) => x.id === w.id);
      const set =
        bw?.arms[arm]?.metrics[metric] ??
        Object.values(bw?.arms ?? {}).find((a) => a.role === 'proxy')?.metrics[metric];
      if (set) points.push([i, set.median]);
    });
    const current = metricSamples(w, arm, metric, direct);
    if (current.length > 0) points.push([history.length, median(current)]);
    const spec = METRIC_DEFAULTS[metric];
    charts.push(
      lineChart({
        title: `${spec.label} over history (medians)`,
        yLabel: spec.unit,
        series: [{ name: arm, points }],
        xLabels: (x) => labels[x] ?? String(x),
        width: 380,
      }),
    );
  }
  return charts;
}

function rawSamples(v: WorkloadVerdict): string {
  const rows = v.metrics.map(
    (m) =>
      `<tr><td>${esc(m.label)}</td><td>${esc(m.baselineSamples.map((x) => formatNumber(x)).join(', '))}</td><td>${esc(m.currentSamples.map((x) => formatNumber(x)).join(', '))}</td></tr>`,
  );
  return `<details><summary>Raw samples</summary><table><thead><tr><th>metric</th><th>reference</th><th>current</th></tr></thead><tbody>${rows.join('')}</tbody></table></details>`;
}
