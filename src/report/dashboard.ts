import { WORK_METRICS, METRIC_DEFAULTS } from '../model/metrics.ts';
import { htmlPage, REPORT_STYLE } from './html.ts';
import { escapeXml as esc, lineChart, type Marker, type Series } from './svg.ts';
import { shortNumber, signedFixed, signedShort } from '../util/format.ts';
import type { ChangePoint, MetricSeries } from '../history/detect.ts';
import { seriesOf } from '../history/detect.ts';
import type { HistoryFile } from '../history/schema.ts';

const DASHBOARD_STYLE = `${REPORT_STYLE}
.marker{stroke:#d62728;stroke-width:3;stroke-dasharray:6 3}.worse{color:#d62728;font-weight:600}.better{color:#2ca02c;font-weight:600}
`;

const short = (sha: string) => sha.slice(0, 7);

function metricLabel(metric: string): { label: string; unit: string } {
  const spec = (METRIC_DEFAULTS as Record<string, { label: string; unit: string } | undefined>)[metric];
  return spec ? { label: spec.label, unit: spec.unit } : { label: metric, unit: '' };
}

/** A change point's shift with its sign (a real minus): `+2.31%`, `−0.4 pts`. */
export function formatShift(c: Pick<ChangePoint, 'shift' | 'unit'>): string {
  return c.unit === '%' ? signedFixed(c.shift, 2, '%') : signedShort(c.shift, ' pts');
}

/** The series' medians with the commit on hover, change points as red lines, segment medians dashed. */
function seriesChart(series: MetricSeries, changes: ChangePoint[]): string {
  const { label, unit } = metricLabel(series.metric);
  const indexOf = (c: ChangePoint) =>
    series.points.findIndex((p) => p.commit === c.commit && p.time === c.time);
  const cuts = changes.map(indexOf).filter((i) => i > 0);
  const bounds = [0, ...cuts, series.values.length];
  const segments: [number, number][] = [];
  changes.forEach((c, i) => {
    if (i === 0) segments.push([bounds[0]! - 0.5, c.before.median], [cuts[0]! - 0.5, c.before.median]);
    segments.push([cuts[i]! - 0.5, c.after.median], [bounds[i + 2]! - 0.5, c.after.median]);
  });
  const main: Series = {
    name: `${series.arm} median`,
    points: series.values.map((v, i) => [i, v]),
    pointTitle: (x, y) => {
      const p = series.points[x]!;
      const s = p.workloads[series.workload]!.arms[series.arm]!.metrics[series.metric]!;
      return `${short(p.commit)} · ${p.time.slice(0, 16).replace('T', ' ')} · median ${shortNumber(y)}${unit ? ` ${unit}` : ''} (n ${s.n}, IQR ${shortNumber(s.q1)}–${shortNumber(s.q3)})`;
    },
  };
  const chartSeries: Series[] = [main];
  if (segments.length > 0)
    chartSeries.push({
      name: 'segment median',
      points: segments,
      lineOnly: true,
      dashed: true,
      color: '#8c959f',
    });
  const markers: Marker[] = changes.map((c, i) => ({
    x: cuts[i]! - 0.5,
    title: `change point at ${short(c.commit)}: ${formatShift(c)} (${shortNumber(c.before.median)} → ${shortNumber(c.after.median)})`,
  }));
  return lineChart({
    title: `${label}${unit ? ` (${unit})` : ''} — ${series.arm}`,
    yLabel: label,
    series: chartSeries,
    markers,
    xLabels: (x) => short(series.points[x]?.commit ?? ''),
    width: 640,
    height: 240,
  });
}

function changeTable(changes: ChangePoint[]): string {
  if (changes.length === 0) return '<p class="meta">No change point detected.</p>';
  const rows = changes.map((c) => {
    const link = c.runUrl ? ` <a href="${esc(c.runUrl)}">run</a>` : '';
    const dir = c.direction ? ` <span class="${c.direction}">${c.direction}</span>` : '';
    return (
      `<tr><td>${esc(c.workload)}</td><td>${esc(c.metric)}</td><td><code>${esc(short(c.previousCommit))}..${esc(short(c.commit))}</code>${link}</td>` +
      `<td class="num">${esc(formatShift(c))}${dir}</td><td class="num">${shortNumber(c.before.median)} → ${shortNumber(c.after.median)}</td>` +
      `<td class="num">${c.pValue.toFixed(3)}</td><td>${c.environmentChanged ? 'machine changed' : ''}</td></tr>`
    );
  });
  return (
    '<table><tr><th>workload</th><th>metric</th><th>commits</th><th>shift</th><th>median before → after</th><th>p</th><th></th></tr>' +
    rows.join('') +
    '</table>'
  );
}

/** The work channel's counts first: noise-free, their steps are the ones a reader can trust at a glance. */
function countsFirst(list: MetricSeries[]): MetricSeries[] {
  const rank = (s: MetricSeries) => {
    const i = (WORK_METRICS as readonly string[]).indexOf(s.metric);
    return i === -1 ? WORK_METRICS.length : i;
  };
  return list
    .map((s, i) => ({ s, i }))
    .sort((a, b) => rank(a.s) - rank(b.s) || a.i - b.i)
    .map(({ s }) => s);
}

function suiteSection(history: HistoryFile, changes: ChangePoint[], arms?: readonly string[]): string {
  const out = [`<h2 id="suite-${esc(history.suite)}">Suite ${esc(history.suite)}</h2>`];
  const first = history.points[0];
  const last = history.points[history.points.length - 1];
  out.push(
    first && last
      ? `<div class="meta">${history.points.length} points, ${esc(first.time.slice(0, 10))} to ${esc(last.time.slice(0, 10))}, latest <code>${esc(short(last.commit))}</code></div>`
      : '<div class="meta">no points yet</div>',
  );
  out.push(changeTable(changes.filter((c) => c.suite === history.suite)));
  const byWorkload = new Map<string, MetricSeries[]>();
  for (const s of seriesOf(history, arms))
    byWorkload.set(s.workload, [...(byWorkload.get(s.workload) ?? []), s]);
  for (const [workload, list] of byWorkload) {
    out.push(`<h3>${esc(workload)}</h3>`);
    const charts = countsFirst(list).map((s) =>
      seriesChart(
        s,
        changes.filter(
          (c) =>
            c.suite === history.suite && c.workload === workload && c.arm === s.arm && c.metric === s.metric,
        ),
      ),
    );
    out.push(`<div class="charts">${charts.join('\n')}</div>`);
  }
  return out.join('\n');
}

/**
 * The history dashboard: one self-contained page (inline CSS and SVG, no script, nothing fetched
 * at view time) with, per suite, the change points found and per workload and metric the series
 * of medians, change points marked and each point's commit on hover.
 */
export function renderHistoryDashboard(
  histories: readonly HistoryFile[],
  changes: readonly ChangePoint[],
  options: { arms?: readonly string[]; generatedAt?: string } = {},
): string {
  const title = 'athena-bench: history';
  const parts = [`<h1>${esc(title)}</h1>`];
  parts.push(
    `<p class="meta">${changes.length} change point(s) over ${histories.length} suite(s)` +
      `${options.generatedAt ? `, generated ${esc(options.generatedAt)}` : ''}. Each dot is one run's median; hover it for the commit. ` +
      'Red dashed lines mark change points (E-divisive with means), grey dashes the median of each segment between them. ' +
      "The work channel's counts per query, when measured, come first: free of timing noise, their steps are sharp.</p>",
  );
  for (const h of histories) parts.push(suiteSection(h, [...changes], options.arms));
  return htmlPage(title, DASHBOARD_STYLE, parts);
}
