/** Formatting shared by the measurement report and the verdict's markdown, HTML and annotations. */

/** A change with its sign: two decimals below 10, one from 10 on; `−` for a decrease, `±` for none. */
export function signedChange(value: number, suffix = ''): string {
  const digits = Math.abs(value) >= 10 ? 1 : 2;
  const text = Math.abs(value).toFixed(digits);
  const sign = Number(text) === 0 ? '±' : value > 0 ? '+' : '−';
  return `${sign}${text}${suffix}`;
}

/** Text that goes into a markdown table cell: no column breaks, no line breaks. */
export function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
