/**
 * Minimal inline-SVG charts for the HTML report: no library, no script, no network. Each function
 * returns one <svg> element as a string; text is escaped; <title> children give hover tooltips.
 */
import { shortNumber } from '../util/format.ts';

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round tick values covering [min, max] ("nice" steps of 1, 2, 5 × 10^k). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.floor(min / step + 1e-9);
  const last = Math.max(first + 1, Math.ceil(max / step - 1e-9));
  const out: number[] = [];
  for (let k = first; k <= last; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

export const PALETTE = [
  '#4e79a7',
  '#e15759',
  '#59a14f',
  '#f28e2b',
  '#b07aa1',
  '#76b7b2',
  '#edc948',
  '#9c755f',
];

export interface Series {
  name: string;
  /** Points [x, y]; x is a round index or a history position. */
  points: [number, number][];
  color?: string;
  /** Hover text of a point (default: "name: value"). */
  pointTitle?: (x: number, y: number) => string;
  /** Draw the line only, no dots (e.g. a step line of segment medians). */
  lineOnly?: boolean;
  dashed?: boolean;
}

/** A vertical line across the plot at x (e.g. a change point), with its hover text. */
export interface Marker {
  x: number;
  title: string;
}

/**
 * An upper bound of a text's rendered width in px. The report has no script to measure with, so
 * the chart leaves room by per-glyph widths of a wide sans-serif (DejaVu Sans, the usual system-ui
 * on Linux, is among the widest): a label that fits this fits the fonts viewers have.
 */
export function textWidth(text: string, fontPx: number): number {
  let em = 0;
  for (const ch of text) {
    if (/[iljtfI.,:;'|!()[\] ]/.test(ch)) em += 0.36;
    else if (/[mwMW@%—]/.test(ch)) em += 1.0;
    else if (/[A-Z]/.test(ch)) em += 0.76;
    else em += 0.64;
  }
  return Math.ceil(em * fontPx);
}

/** Font sizes of the report's chart classes (src/report/html.ts's CSS). */
const FONT_PX = { title: 13, tick: 11, label: 12 };

interface LineScale {
  px: (x: number) => number;
  py: (y: number) => number;
  yTicks: number[];
}

/** A line chart with dots: per-round values of each arm, or a trend over history. */
export function lineChart(opts: {
  title: string;
  yLabel: string;
  series: Series[];
  xLabels?: (x: number) => string;
  markers?: Marker[];
  width?: number;
  height?: number;
}): string {
  const m = { top: 28, right: 28, bottom: 40, left: 56 };
  const width = Math.max(opts.width ?? 420, m.left + textWidth(opts.title, FONT_PX.title) + 8);
  const height = opts.height ?? 220;
  const body: string[] = [`<text x="${m.left}" y="16" class="chart-title">${escapeXml(opts.title)}</text>`];
  const all = opts.series.flatMap((s) => s.points);
  if (all.length === 0) {
    body.push(
      `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="muted">no samples</text>`,
    );
    return svg(width, height, opts.title, body);
  }
  const box = { width, height, m };
  const scale = lineScale(all, opts.markers ?? [], box);
  body.push(...yAxis(scale, box, opts.yLabel), ...markerLines(opts.markers ?? [], scale, box));
  body.push(...xAxisLabels(all, scale, box, opts.xLabels));
  opts.series.forEach((s, i) => body.push(...seriesMarks(s, s.color ?? PALETTE[i % PALETTE.length]!, scale)));
  body.push(...legend(opts.series, box));
  return svg(width, height, opts.title, body);
}

interface Box {
  width: number;
  height: number;
  m: { top: number; right: number; bottom: number; left: number };
}

function lineScale(all: [number, number][], markers: Marker[], { width, height, m }: Box): LineScale {
  const xs = [...all.map((p) => p[0]), ...markers.map((mk) => mk.x)];
  const ys = all.map((p) => p[1]);
  const yTicks = niceTicks(Math.min(...ys), Math.max(...ys));
  const y0 = yTicks[0]!;
  const y1 = yTicks[yTicks.length - 1]!;
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  return {
    yTicks,
    px: (x) => m.left + (xMax === xMin ? 0.5 : (x - xMin) / (xMax - xMin)) * (width - m.left - m.right),
    py: (y) => height - m.bottom - ((y - y0) / (y1 - y0 || 1)) * (height - m.top - m.bottom),
  };
}

/** Horizontal grid lines with their values, and the rotated axis label. */
function yAxis({ py, yTicks }: LineScale, { width, height, m }: Box, label: string): string[] {
  const out = yTicks.flatMap((t) => [
    `<line x1="${m.left}" x2="${width - m.right}" y1="${py(t)}" y2="${py(t)}" class="grid"/>`,
    `<text x="${m.left - 6}" y="${py(t) + 4}" text-anchor="end" class="tick">${shortNumber(t)}</text>`,
  ]);
  out.push(
    `<text transform="translate(12 ${(height - m.bottom + m.top) / 2}) rotate(-90)" text-anchor="middle" class="tick">${escapeXml(label)}</text>`,
  );
  return out;
}

function markerLines(markers: Marker[], { px }: LineScale, { height, m }: Box): string[] {
  return markers.map((mk) => {
    const x = Math.round(px(mk.x));
    return `<line x1="${x}" x2="${x}" y1="${m.top}" y2="${height - m.bottom}" class="marker"><title>${escapeXml(mk.title)}</title></line>`;
  });
}

/** At most ten labels under the x axis, one per integer x. */
function xAxisLabels(
  all: [number, number][],
  { px }: LineScale,
  { height, m }: Box,
  xLabels?: (x: number) => string,
): string[] {
  const xValues = [...new Set(all.map((p) => p[0]).filter(Number.isInteger))].sort((a, b) => a - b);
  const every = Math.max(1, Math.ceil(xValues.length / 10));
  return xValues
    .filter((_, i) => i % every === 0)
    .map((x) => {
      const label = xLabels ? xLabels(x) : String(x + 1);
      return `<text x="${px(x)}" y="${height - m.bottom + 16}" text-anchor="middle" class="tick">${escapeXml(label)}</text>`;
    });
}

function seriesMarks(s: Series, color: string, { px, py }: LineScale): string[] {
  const pts = [...s.points].sort((a, b) => a[0] - b[0]);
  const out: string[] = [];
  if (pts.length > 1) {
    const points = pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${points}"/>`,
    );
  }
  if (s.lineOnly) return out;
  for (const [x, y] of pts) {
    const title = s.pointTitle ? s.pointTitle(x, y) : `${s.name}: ${shortNumber(y)}`;
    out.push(
      `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"><title>${escapeXml(title)}</title></circle>`,
    );
  }
  return out;
}

/** One swatch and name per series, under the axis. */
function legend(series: Series[], { height, m }: Box): string[] {
  let lx = m.left;
  return series.flatMap((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const out = [
      `<rect x="${lx}" y="${height - 14}" width="10" height="10" fill="${color}"/>`,
      `<text x="${lx + 14}" y="${height - 5}" class="tick">${escapeXml(s.name)}</text>`,
    ];
    lx += 24 + textWidth(s.name, FONT_PX.tick);
    return out;
  });
}

export interface IntervalRow {
  label: string;
  estimate: number;
  low: number;
  high: number;
  threshold: number;
  /** +1 when higher values are worse (latency, CPU), −1 when lower are worse (TPS). */
  worseSign: 1 | -1;
  color: string;
  detail: string;
}

/**
 * A forest plot: per metric the change (point) with its interval (bar) against the ±threshold band
 * (shaded) and zero. The bad side of each row is marked so a reader sees where "regressed" lies.
 * The label column is as wide as the longest label; the plot keeps its width beside it.
 */
export function intervalChart(opts: {
  title: string;
  unit: string;
  rows: IntervalRow[];
  width?: number;
}): string {
  const rowH = 26;
  const labelWidth = Math.max(0, ...opts.rows.map((r) => textWidth(r.label, FONT_PX.label)));
  const m = { top: 30, right: 20, bottom: 30, left: Math.max(170, labelWidth + 16) };
  const width = Math.max(opts.width ?? 560, m.left + 390, textWidth(opts.title, FONT_PX.title) + 16);
  const height = m.top + m.bottom + rowH * Math.max(1, opts.rows.length);
  const body: string[] = [`<text x="8" y="16" class="chart-title">${escapeXml(opts.title)}</text>`];
  if (opts.rows.length === 0) {
    body.push(
      `<text x="${width / 2}" y="${m.top + 14}" text-anchor="middle" class="muted">no comparable metric</text>`,
    );
    return svg(width, height, opts.title, body);
  }
  const box = { width, height, m };
  const scale = intervalScale(opts.rows, box);
  body.push(...intervalAxis(scale, box, opts.unit));
  opts.rows.forEach((r, i) => body.push(...intervalRow(r, m.top + i * rowH + rowH / 2, scale, m.left)));
  return svg(width, height, opts.title, body);
}

interface IntervalScale {
  px: (v: number) => number;
  ticks: number[];
  lo: number;
  hi: number;
}

/** Symmetric around zero, wide enough for every interval and 1.5× every threshold. */
function intervalScale(rows: IntervalRow[], { width, m }: Box): IntervalScale {
  const extent = Math.max(...rows.flatMap((r) => [Math.abs(r.low), Math.abs(r.high), r.threshold * 1.5]), 1);
  const ticks = niceTicks(-extent, extent, 6);
  const lo = ticks[0]!;
  const hi = ticks[ticks.length - 1]!;
  return { ticks, lo, hi, px: (v) => m.left + ((v - lo) / (hi - lo)) * (width - m.left - m.right) };
}

function intervalAxis({ px, ticks }: IntervalScale, { height, m }: Box, unit: string): string[] {
  const out = ticks.flatMap((t) => [
    `<line x1="${px(t)}" x2="${px(t)}" y1="${m.top - 4}" y2="${height - m.bottom}" class="grid"/>`,
    `<text x="${px(t)}" y="${height - m.bottom + 16}" text-anchor="middle" class="tick">${shortNumber(t)}${escapeXml(unit)}</text>`,
  ]);
  out.push(`<line x1="${px(0)}" x2="${px(0)}" y1="${m.top - 4}" y2="${height - m.bottom}" class="zero"/>`);
  return out;
}

/** One metric: the threshold band, the bad side tinted, its label, the interval and the estimate. */
function intervalRow(r: IntervalRow, cy: number, { px, lo, hi }: IntervalScale, left: number): string[] {
  const clamp = (v: number) => px(Math.max(lo, Math.min(hi, v)));
  const bandL = clamp(-r.threshold);
  const bandR = clamp(r.threshold);
  const badStart = r.worseSign > 0 ? clamp(r.threshold) : px(lo);
  const badEnd = r.worseSign > 0 ? px(hi) : clamp(-r.threshold);
  return [
    `<rect x="${bandL}" y="${cy - 9}" width="${Math.max(0, bandR - bandL)}" height="18" class="band"/>`,
    `<rect x="${badStart}" y="${cy - 9}" width="${Math.max(0, badEnd - badStart)}" height="18" class="bad"/>`,
    `<text x="${left - 8}" y="${cy + 4}" text-anchor="end" class="label">${escapeXml(r.label)}</text>`,
    `<line x1="${clamp(r.low)}" x2="${clamp(r.high)}" y1="${cy}" y2="${cy}" stroke="${r.color}" stroke-width="3"/>`,
    `<circle cx="${clamp(r.estimate)}" cy="${cy}" r="5" fill="${r.color}"><title>${escapeXml(r.detail)}</title></circle>`,
  ];
}

function svg(width: number, height: number, title: string, body: string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">` +
    body.join('') +
    '</svg>'
  );
}
