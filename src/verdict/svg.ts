/**
 * Minimal inline-SVG charts for the HTML report: no library, no script, no network. Each function
 * returns one <svg> element as a string; text is escaped; <title> children give hover tooltips.
 */

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

export function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 10_000) return `${Number((v / 1000).toPrecision(3))}k`;
  if (a >= 100) return v.toFixed(0);
  return Number(v.toPrecision(3)).toString();
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
  const width = opts.width ?? 420;
  const height = opts.height ?? 220;
  const m = { top: 28, right: 28, bottom: 40, left: 56 };
  const all = opts.series.flatMap((s) => s.points);
  const body: string[] = [];
  body.push(`<text x="${m.left}" y="16" class="chart-title">${escapeXml(opts.title)}</text>`);
  if (all.length === 0) {
    body.push(
      `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="muted">no samples</text>`,
    );
    return svg(width, height, opts.title, body);
  }
  const xs = [...all.map((p) => p[0]), ...(opts.markers ?? []).map((mk) => mk.x)];
  const ys = all.map((p) => p[1]);
  const yTicks = niceTicks(Math.min(...ys), Math.max(...ys));
  const y0 = yTicks[0]!;
  const y1 = yTicks[yTicks.length - 1]!;
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const px = (x: number) =>
    m.left + (xMax === xMin ? 0.5 : (x - xMin) / (xMax - xMin)) * (width - m.left - m.right);
  const py = (y: number) => height - m.bottom - ((y - y0) / (y1 - y0 || 1)) * (height - m.top - m.bottom);
  for (const t of yTicks) {
    body.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${py(t)}" y2="${py(t)}" class="grid"/>`);
    body.push(`<text x="${m.left - 6}" y="${py(t) + 4}" text-anchor="end" class="tick">${fmt(t)}</text>`);
  }
  for (const mk of opts.markers ?? []) {
    body.push(
      `<line x1="${Math.round(px(mk.x))}" x2="${Math.round(px(mk.x))}" y1="${m.top}" y2="${height - m.bottom}" class="marker"><title>${escapeXml(mk.title)}</title></line>`,
    );
  }
  const xValues = [...new Set(all.map((p) => p[0]).filter(Number.isInteger))].sort((a, b) => a - b);
  const every = Math.max(1, Math.ceil(xValues.length / 10));
  xValues.forEach((x, i) => {
    if (i % every !== 0) return;
    const label = opts.xLabels ? opts.xLabels(x) : String(x + 1);
    body.push(
      `<text x="${px(x)}" y="${height - m.bottom + 16}" text-anchor="middle" class="tick">${escapeXml(label)}</text>`,
    );
  });
  body.push(
    `<text transform="translate(12 ${(height - m.bottom + m.top) / 2}) rotate(-90)" text-anchor="middle" class="tick">${escapeXml(opts.yLabel)}</text>`,
  );
  opts.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    if (pts.length > 1) {
      body.push(
        `<polyline fill="none" stroke="${color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`,
      );
    }
    if (s.lineOnly) return;
    for (const [x, y] of pts) {
      const title = s.pointTitle ? s.pointTitle(x, y) : `${s.name}: ${fmt(y)}`;
      body.push(
        `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"><title>${escapeXml(title)}</title></circle>`,
      );
    }
  });
  // Legend under the axis.
  let lx = m.left;
  opts.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    body.push(`<rect x="${lx}" y="${height - 14}" width="10" height="10" fill="${color}"/>`);
    body.push(`<text x="${lx + 14}" y="${height - 5}" class="tick">${escapeXml(s.name)}</text>`);
    lx += 24 + s.name.length * 7;
  });
  return svg(width, height, opts.title, body);
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
 */
export function intervalChart(opts: {
  title: string;
  unit: string;
  rows: IntervalRow[];
  width?: number;
}): string {
  const width = opts.width ?? 560;
  const rowH = 26;
  const m = { top: 30, right: 20, bottom: 30, left: 170 };
  const height = m.top + m.bottom + rowH * Math.max(1, opts.rows.length);
  const body: string[] = [`<text x="8" y="16" class="chart-title">${escapeXml(opts.title)}</text>`];
  if (opts.rows.length === 0) {
    body.push(
      `<text x="${width / 2}" y="${m.top + 14}" text-anchor="middle" class="muted">no comparable metric</text>`,
    );
    return svg(width, height, opts.title, body);
  }
  const extent = Math.max(
    ...opts.rows.flatMap((r) => [Math.abs(r.low), Math.abs(r.high), r.threshold * 1.5]),
    1,
  );
  const ticks = niceTicks(-extent, extent, 6);
  const lo = ticks[0]!;
  const hi = ticks[ticks.length - 1]!;
  const px = (v: number) => m.left + ((v - lo) / (hi - lo)) * (width - m.left - m.right);
  for (const t of ticks) {
    body.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${m.top - 4}" y2="${height - m.bottom}" class="grid"/>`);
    body.push(
      `<text x="${px(t)}" y="${height - m.bottom + 16}" text-anchor="middle" class="tick">${fmt(t)}${escapeXml(opts.unit)}</text>`,
    );
  }
  body.push(`<line x1="${px(0)}" x2="${px(0)}" y1="${m.top - 4}" y2="${height - m.bottom}" class="zero"/>`);
  opts.rows.forEach((r, i) => {
    const cy = m.top + i * rowH + rowH / 2;
    const bandL = px(Math.max(lo, -r.threshold));
    const bandR = px(Math.min(hi, r.threshold));
    body.push(
      `<rect x="${bandL}" y="${cy - 9}" width="${Math.max(0, bandR - bandL)}" height="18" class="band"/>`,
    );
    // The bad side beyond the threshold, tinted.
    const badStart = r.worseSign > 0 ? px(Math.min(hi, r.threshold)) : px(lo);
    const badEnd = r.worseSign > 0 ? px(hi) : px(Math.max(lo, -r.threshold));
    body.push(
      `<rect x="${badStart}" y="${cy - 9}" width="${Math.max(0, badEnd - badStart)}" height="18" class="bad"/>`,
    );
    body.push(
      `<text x="${m.left - 8}" y="${cy + 4}" text-anchor="end" class="label">${escapeXml(r.label)}</text>`,
    );
    const x1 = px(Math.max(lo, Math.min(hi, r.low)));
    const x2 = px(Math.max(lo, Math.min(hi, r.high)));
    body.push(`<line x1="${x1}" x2="${x2}" y1="${cy}" y2="${cy}" stroke="${r.color}" stroke-width="3"/>`);
    body.push(
      `<circle cx="${px(Math.max(lo, Math.min(hi, r.estimate)))}" cy="${cy}" r="5" fill="${r.color}"><title>${escapeXml(r.detail)}</title></circle>`,
    );
  });
  return svg(width, height, opts.title, body);
}

function svg(width: number, height: number, title: string, body: string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">` +
    body.join('') +
    '</svg>'
  );
}
