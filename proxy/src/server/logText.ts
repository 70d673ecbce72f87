// Client-supplied text (user and database names, server messages quoting them) made safe for a
// one-line log: a client must not be able to forge log lines or drive the operator's terminal.

/** Control characters (C0, DEL, C1), line and paragraph separators, and bidirectional overrides. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069"\\]/g;

function escapeChar(c: string): string {
  if (c === '"' || c === '\\') return `\\${c}`;
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `value` in double quotes, every unsafe character escaped (\n, \u001b, \", \\). */
export function logField(value: string): string {
  return `"${value.replace(UNSAFE, escapeChar)}"`;
}
