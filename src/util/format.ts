/**
 * How every text of the gate writes a number: the reports (markdown, HTML, the terminal), the
 * verdict's summary line and warnings, the Action's annotations and the history's alerts.
 */

const wholeFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 3 significant digits below 1000, grouped integers above; `n/a` for nothing. */
export function formatNumber(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 999.5) return wholeFormat.format(v);
  if (v === 0) return '0';
  return Number(v.toPrecision(3)).toString();
}

/** A measurement in a report's table: no decimals from 100, one from 10, else `digits`; `—` for nothing. */
export function formatMeasured(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  const d = abs >= 100 ? 0 : abs >= 10 ? Math.min(digits, 1) : digits;
  return value.toFixed(d);
}

/** A number in little room (a chart's tick, a change point): 3 significant digits, `12.3k` from 10,000. */
export function shortNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 10_000) return `${Number((v / 1000).toPrecision(3))}k`;
  if (a >= 100) return v.toFixed(0);
  return Number(v.toPrecision(3)).toString();
}

/** A rounded count, grouped: 12,345. */
export function wholeNumber(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** A p-value: three decimals, or scientific below 0.001. */
export function formatP(p: number): string {
  if (p >= 0.001) return p.toFixed(3);
  return p.toExponential(1);
}

/** `+`, `−` (a real minus), or `±` for what shows as zero. */
function sign(value: number, showsAsZero: boolean): string {
  return showsAsZero ? '±' : value > 0 ? '+' : '−';
}

/** A change with its sign: two decimals below 10, one from 10 on; `−` for a decrease, `±` for none. */
export function signedChange(value: number, suffix = ''): string {
  const digits = Math.abs(value) >= 10 ? 1 : 2;
  const text = Math.abs(value).toFixed(digits);
  return `${sign(value, Number(text) === 0)}${text}${suffix}`;
}

/** A change with its sign at a fixed number of decimals (`+1.00 ms`, `−0.50 ms`); `—` for nothing. */
export function signedFixed(value: number | null, digits = 1, suffix = ''): string {
  if (value === null) return '—';
  const text = Math.abs(value).toFixed(digits);
  return `${sign(value, Number(text) === 0)}${text}${suffix}`;
}

/** A change in little room, with its sign: `+12.3k`, `−0.4`. */
export function signedShort(value: number, suffix = ''): string {
  const text = shortNumber(Math.abs(value));
  return `${sign(value, Number(text) === 0)}${text}${suffix}`;
}

/** A change of a count, rounded and grouped, with its sign as signedChange gives it. */
export function signedWhole(value: number): string {
  const rounded = Math.round(value);
  return `${sign(rounded, rounded === 0)}${wholeNumber(Math.abs(rounded))}`;
}

/** An interval of changes: `[+1.20%, +3.40%]`. */
export function signedInterval(low: number, high: number, suffix = ''): string {
  return `[${signedChange(low, suffix)}, ${signedChange(high, suffix)}]`;
}

/** `1 round`, `3 rounds`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Text that goes into a markdown table cell: no column breaks, no line breaks. */
export function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
