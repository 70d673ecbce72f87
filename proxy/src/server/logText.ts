// Client-supplied text (user and database names, server messages quoting them) made safe for a
// one-line log: a client must not be able to forge log lines or drive the operator's terminal.

/** Control characters (C0, DEL, C1), line and paragraph separators, and bidirectional overrides. */
function isUnsafe(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

function escapeChar(c: string): string {
  if (c === "'" || c === '\\') return `\\${c}`;
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `value` in single quotes (as MySQL quotes names), every unsafe character escaped (\n, \u001b, \', \\). */
export function logField(value: string): string {
  let out = "'";
  for (const c of value) {
    const code = c.charCodeAt(0);
    out += c === "'" || c === '\\' || isUnsafe(code) ? escapeChar(c) : c;
  }
  return `${out}'`;
}
