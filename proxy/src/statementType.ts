/**
 * The `type` label of athena_queries_total and friends: the statement's first keyword, read from the
 * packet bytes without building a string (this runs once per query on the hot path).
 */
export type StatementType = 'select' | 'insert' | 'update' | 'delete' | 'begin' | 'commit' | 'other';

/** Every type, in the fixed order the metrics preallocate their counters in. */
export const STATEMENT_TYPES: readonly StatementType[] = [
  'select',
  'insert',
  'update',
  'delete',
  'begin',
  'commit',
  'other',
];

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const VT = 0x0b;
const FF = 0x0c;
const CR = 0x0d;
const HASH = 0x23;
const LPAREN = 0x28;
const RPAREN = 0x29;
const STAR = 0x2a;
const DASH = 0x2d;
const SLASH = 0x2f;
const BANG = 0x21;
const PLUS = 0x2b;
const QUOTE = 0x27;
const DQUOTE = 0x22;
const BACKTICK = 0x60;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR || c === VT || c === FF;
}

function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Characters that continue an unquoted identifier (MySQL also allows any byte >= 0x80). */
function isWordChar(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x24 || c >= 0x80;
}

/**
 * Versioned comments `/*!NNNNN ... *\/` at or below this version run on every server Athena supports
 * (MySQL 5.7+, MariaDB 10+); newer ones may or may not run, depending on the server.
 */
const ALWAYS_EXECUTED_VERSION = 50700;

/** skipInsignificant's answer when a comment may or may not be executed: the statement is unknowable. */
const OPAQUE = -1;

/**
 * Skips whitespace and comments from `i`; returns the index of the next significant byte (or end).
 * `/*! ... *\/` (with no version, or an old one) is a MySQL executable comment: its body is SQL, so
 * only the opener (and the version number) is skipped and scanning continues inside. A comment the
 * server may skip (a newer version, MariaDB's `/*M!`) makes the statement unknowable: OPAQUE. `/*+`
 * optimizer hints only follow a keyword; as a statement prefix they are a comment.
 */
function skipInsignificant(buf: Buffer, i: number, end: number): number {
  while (i < end) {
    const c = buf[i] as number;
    if (isSpace(c)) {
      i++;
    } else if (c === SLASH && i + 1 < end && buf[i + 1] === STAR) {
      const third = i + 2 < end ? (buf[i + 2] as number) : -1;
      if (third === BANG) {
        i += 3;
        let version = 0;
        const digitsFrom = i;
        while (i < end && (buf[i] as number) >= 0x30 && (buf[i] as number) <= 0x39) {
          version = version * 10 + (buf[i] as number) - 0x30;
          i++;
        }
        if (i > digitsFrom && version > ALWAYS_EXECUTED_VERSION) return OPAQUE;
      } else if ((third === 0x4d || third === 0x6d) && i + 3 < end && buf[i + 3] === BANG) {
        return OPAQUE; // /*M! runs on MariaDB only
      } else if (third === PLUS) {
        i = skipBlockComment(buf, i + 3, end);
      } else {
        i = skipBlockComment(buf, i + 2, end);
      }
    } else if (
      c === DASH &&
      i + 1 < end &&
      buf[i + 1] === DASH &&
      (i + 2 >= end || isSpace(buf[i + 2] as number))
    ) {
      // "-- " starts a comment only when followed by whitespace/control (or the end), as in MySQL.
      i = skipLine(buf, i + 2, end);
    } else if (c === HASH) {
      i = skipLine(buf, i + 1, end);
    } else if (c === STAR && i + 1 < end && buf[i + 1] === SLASH) {
      // The closer of an executable comment we scanned into.
      i += 2;
    } else {
      return i;
    }
  }
  return end;
}

function skipBlockComment(buf: Buffer, i: number, end: number): number {
  while (i + 1 < end) {
    if (buf[i] === STAR && buf[i + 1] === SLASH) return i + 2;
    i++;
  }
  return end;
}

function skipLine(buf: Buffer, i: number, end: number): number {
  while (i < end && buf[i] !== LF) i++;
  return i;
}

/** Is buf[start, start + word.length) the (lower-case ASCII) `word`, ignoring case, and a whole word? */
function wordIs(buf: Buffer, start: number, wordEnd: number, word: string): boolean {
  if (wordEnd - start !== word.length) return false;
  for (let k = 0; k < word.length; k++) {
    if (((buf[start + k] as number) | 0x20) !== word.charCodeAt(k)) return false;
  }
  return true;
}

function wordEndFrom(buf: Buffer, i: number, end: number): number {
  while (i < end && isWordChar(buf[i] as number)) i++;
  return i;
}

/** The type a statement's leading keyword gives, or null when that keyword decides nothing. */
function typeOfKeyword(buf: Buffer, ws: number, we: number): StatementType | null {
  switch (we - ws) {
    case 5:
      if (wordIs(buf, ws, we, 'begin')) return 'begin';
      return null; // START is decided by the next word, in classifyStatement
    case 6:
      if (wordIs(buf, ws, we, 'select')) return 'select';
      if (wordIs(buf, ws, we, 'insert')) return 'insert';
      if (wordIs(buf, ws, we, 'update')) return 'update';
      if (wordIs(buf, ws, we, 'delete')) return 'delete';
      if (wordIs(buf, ws, we, 'commit')) return 'commit';
      return null;
    case 7:
      if (wordIs(buf, ws, we, 'replace')) return 'insert';
      return null;
    default:
      return null;
  }
}

/**
 * The statement type of the SQL in buf[start, end): its first keyword after whitespace, comments
 * (slash-star, "-- ", "#") and opening parentheses, case-insensitive. START TRANSACTION and BEGIN
 * (not MariaDB's BEGIN NOT ATOMIC block) are begin; REPLACE is insert; WITH is typed by the statement
 * its common table expressions introduce; ROLLBACK, SET, SHOW, CALL... are other.
 */
export function classifyStatement(buf: Buffer, start: number, end: number): StatementType {
  if (end > buf.length) end = buf.length;
  let i = start;
  for (;;) {
    i = skipInsignificant(buf, i, end);
    if (i === OPAQUE) return 'other';
    if (i < end && buf[i] === LPAREN) {
      i++;
      continue;
    }
    break;
  }
  if (i >= end || !isLetter(buf[i] as number)) return 'other';
  const ws = i;
  const we = wordEndFrom(buf, i, end);
  const direct = typeOfKeyword(buf, ws, we);
  if (direct === 'begin') {
    const next = skipInsignificant(buf, we, end);
    if (next === OPAQUE) return 'other';
    return wordIs(buf, next, wordEndFrom(buf, next, end), 'not') ? 'other' : 'begin';
  }
  if (direct !== null) return direct;
  if (wordIs(buf, ws, we, 'start')) {
    const next = skipInsignificant(buf, we, end);
    if (next === OPAQUE) return 'other';
    return wordIs(buf, next, wordEndFrom(buf, next, end), 'transaction') ? 'begin' : 'other';
  }
  if (wordIs(buf, ws, we, 'with')) return classifyWith(buf, we, end);
  return 'other';
}

/**
 * WITH [RECURSIVE] name [(cols)] AS (...) [, ...] <statement>: the first data keyword at parenthesis
 * depth 0 (outside strings and quoted identifiers) is the statement the CTEs belong to.
 */
function classifyWith(buf: Buffer, i: number, end: number): StatementType {
  let depth = 0;
  while (i < end) {
    i = skipInsignificant(buf, i, end);
    if (i === OPAQUE || i >= end) break;
    const c = buf[i] as number;
    if (c === LPAREN) {
      depth++;
      i++;
    } else if (c === RPAREN) {
      if (depth > 0) depth--;
      i++;
    } else if (c === QUOTE || c === DQUOTE || c === BACKTICK) {
      i = skipQuoted(buf, i + 1, end, c);
    } else if (isLetter(c)) {
      const we = wordEndFrom(buf, i, end);
      if (depth === 0) {
        const type = typeOfKeyword(buf, i, we);
        if (type === 'select' || type === 'insert' || type === 'update' || type === 'delete') return type;
      }
      i = we;
    } else {
      i++;
    }
  }
  return 'other';
}

function skipQuoted(buf: Buffer, i: number, end: number, quote: number): number {
  while (i < end) {
    const c = buf[i] as number;
    if (c === BACKSLASH && quote !== BACKTICK) {
      i += 2;
    } else if (c === quote) {
      if (i + 1 < end && buf[i + 1] === quote)
        i += 2; // doubled quote inside the literal
      else return i + 1;
    } else {
      i++;
    }
  }
  return end;
}
