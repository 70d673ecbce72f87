import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseKind, ResponseScanner } from './responseScanner.ts';

// ---- packet builders (payloads per the MySQL protocol docs) ----
let seq = 1;
function pkt(payload: number[] | Buffer): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(4);
  header.writeUIntLE(body.length, 0, 3);
  header[3] = seq++ & 0xff;
  return Buffer.concat([header, body]);
}
const u16 = (n: number): number[] => [n & 0xff, n >> 8];
const lenencStr = (s: string): number[] => [s.length, ...Buffer.from(s)];
const ok = (status: number, header = 0x00): Buffer => pkt([header, 0, 0, ...u16(status), 0, 0]);
const okWithIds = (status: number): Buffer =>
  pkt([0x00, 0xfc, ...u16(300), 0xfd, 1, 2, 3, ...u16(status), 0, 0]);
const eof = (status: number): Buffer => pkt([0xfe, 0, 0, ...u16(status)]);
const err = (): Buffer =>
  pkt([0xff, ...u16(1064), 0x23, ...Buffer.from('42000'), ...Buffer.from('You have an error')]);
const columnCount = (n: number): Buffer => pkt([n]);
const columnDef = (name: string): Buffer =>
  pkt([
    ...lenencStr('def'),
    ...lenencStr('test'),
    ...lenencStr('t'),
    ...lenencStr('t'),
    ...lenencStr(name),
    ...lenencStr(name),
    0x0c,
    ...u16(45),
    0,
    0,
    0,
    0,
    0x03,
    ...u16(0),
    0,
    0,
    0,
  ]);
const textRow = (...values: Array<string | null>): Buffer =>
  pkt(values.flatMap((v) => (v === null ? [0xfb] : lenencStr(v))));
// Binary row: 0x00 header, NULL bitmap ((n + 7 + 2) / 8 bytes), then values (INT: 4 bytes).
const binaryRow = (...ints: number[]): Buffer => {
  const bitmap = new Array(Math.floor((ints.length + 9) / 8)).fill(0);
  return pkt([0x00, ...bitmap, ...ints.flatMap((n) => [n & 0xff, (n >> 8) & 0xff, 0, 0])]);
};
const prepareOk = (id: number, columns: number, params: number): Buffer =>
  pkt([0x00, id & 0xff, 0, 0, 0, ...u16(columns), ...u16(params), 0, ...u16(0)]);

const MORE = 0x08;
const AUTOCOMMIT = 0x02;
const CURSOR = 0x40;

function response(...packets: Buffer[]): Buffer {
  seq = 1;
  return Buffer.concat(packets);
}

/** Scans `stream` cut into the given chunks; returns the absolute end offset or -1. */
function scanChunks(scanner: ResponseScanner, chunks: Buffer[]): number {
  let base = 0;
  for (const chunk of chunks) {
    const end = scanner.scan(chunk, 0);
    if (end >= 0) return base + end;
    base += chunk.length;
  }
  return -1;
}

/** Asserts the scanner ends exactly at the end of `stream`, whole and split at every byte boundary. */
function assertEndsAt(
  kind: ResponseKind,
  deprecateEof: boolean,
  stream: Buffer,
  what: string,
): ResponseScanner {
  const scanner = new ResponseScanner();
  scanner.begin(kind, deprecateEof);
  // Trailing bytes must not be consumed: the end offset is the response's length.
  const withTrailer = Buffer.concat([stream, Buffer.from([1, 0, 0, 0, 0x0e])]);
  assert.equal(scanChunks(scanner, [withTrailer]), stream.length, `${what}: one chunk`);
  assert.equal(scanner.done, true);
  for (let cut = 1; cut < stream.length; cut++) {
    const split = new ResponseScanner();
    split.begin(kind, deprecateEof);
    assert.equal(
      scanChunks(split, [stream.subarray(0, cut), stream.subarray(cut)]),
      stream.length,
      `${what}: split at ${cut}`,
    );
    assert.equal(split.failed, scanner.failed);
    assert.equal(split.statementId, scanner.statementId);
    assert.equal(split.statusFlags, scanner.statusFlags);
    assert.equal(split.statusKnown, scanner.statusKnown);
    assert.equal(split.statementParams, scanner.statementParams);
  }
  const bytewise = new ResponseScanner();
  bytewise.begin(kind, deprecateEof);
  const bytes = [...stream].map((b) => Buffer.from([b]));
  assert.equal(scanChunks(bytewise, bytes), stream.length, `${what}: byte by byte`);
  // Every strict prefix is incomplete.
  const partial = new ResponseScanner();
  partial.begin(kind, deprecateEof);
  assert.equal(scanChunks(partial, [stream.subarray(0, stream.length - 1)]), -1, `${what}: prefix`);
  return scanner;
}

test('OK and ERR answer a query in one packet', () => {
  const s = assertEndsAt(ResponseKind.QUERY, false, response(ok(AUTOCOMMIT)), 'OK');
  assert.equal(s.failed, false);
  assert.equal(s.statusFlags, AUTOCOMMIT);
  assert.equal(assertEndsAt(ResponseKind.QUERY, false, response(err()), 'ERR').failed, true);
  // Affected rows and insert id as multi-byte length-encoded integers before the status.
  assert.equal(
    assertEndsAt(ResponseKind.QUERY, false, response(okWithIds(AUTOCOMMIT)), 'OK ids').statusFlags,
    AUTOCOMMIT,
  );
});

test('the last OK or EOF says whether a transaction is open; an ERR or a PREPARE says nothing', () => {
  const IN_TRANS = 0x01;
  const begun = assertEndsAt(ResponseKind.QUERY, false, response(ok(IN_TRANS | AUTOCOMMIT)), 'BEGIN');
  assert.equal(begun.statusKnown, true);
  assert.equal(begun.statusFlags & IN_TRANS, IN_TRANS);
  const rows = response(columnCount(1), columnDef('a'), eof(IN_TRANS), textRow('1'), eof(IN_TRANS));
  assert.equal(assertEndsAt(ResponseKind.QUERY, false, rows, 'rows in a transaction').statusFlags, IN_TRANS);
  const binary = response(columnCount(1), columnDef('a'), binaryRow(1), ok(IN_TRANS, 0xfe));
  const executed = assertEndsAt(ResponseKind.EXECUTE, true, binary, 'binary rows, DEPRECATE_EOF');
  assert.equal(executed.statusKnown, true);
  assert.equal(executed.statusFlags, IN_TRANS);
  const committed = assertEndsAt(ResponseKind.SINGLE, false, response(ok(AUTOCOMMIT)), 'single OK');
  assert.equal(committed.statusKnown, true);
  assert.equal(committed.statusFlags & IN_TRANS, 0);
  assert.equal(assertEndsAt(ResponseKind.QUERY, false, response(err()), 'ERR').statusKnown, false);
  assert.equal(assertEndsAt(ResponseKind.SINGLE, false, response(err()), 'single ERR').statusKnown, false);
});

test('text result set with EOF packets (no DEPRECATE_EOF)', () => {
  const stream = response(
    columnCount(2),
    columnDef('a'),
    columnDef('b'),
    eof(AUTOCOMMIT),
    textRow('1', 'x'),
    textRow(null, ''),
    eof(AUTOCOMMIT),
  );
  assert.equal(assertEndsAt(ResponseKind.QUERY, false, stream, 'text').failed, false);
});

test('text result set with DEPRECATE_EOF ends at the 0xfe OK packet', () => {
  const stream = response(columnCount(1), columnDef('a'), textRow('1'), textRow('2'), ok(AUTOCOMMIT, 0xfe));
  assertEndsAt(ResponseKind.QUERY, true, stream, 'deprecate eof');
});

test('an ERR in the middle of the rows ends the result set as failed', () => {
  const stream = response(columnCount(1), columnDef('a'), eof(0), textRow('1'), err());
  assert.equal(assertEndsAt(ResponseKind.QUERY, false, stream, 'row err').failed, true);
});

test('binary result set rows start with 0x00 and are not mistaken for OK', () => {
  const stream = response(
    columnCount(2),
    columnDef('a'),
    columnDef('b'),
    eof(0),
    binaryRow(1, 2),
    binaryRow(0, 0),
    eof(AUTOCOMMIT),
  );
  assertEndsAt(ResponseKind.EXECUTE, false, stream, 'binary');
  const deprecated = response(
    columnCount(1),
    columnDef('a'),
    binaryRow(7),
    binaryRow(0),
    ok(AUTOCOMMIT, 0xfe),
  );
  assertEndsAt(ResponseKind.EXECUTE, true, deprecated, 'binary deprecate eof');
});

test('an EXECUTE that opens a cursor ends after the column definitions', () => {
  const stream = response(columnCount(1), columnDef('a'), eof(CURSOR | AUTOCOMMIT));
  assertEndsAt(ResponseKind.EXECUTE, false, stream, 'cursor');
  const fetch = response(binaryRow(1), binaryRow(2), eof(CURSOR | 0x80));
  assertEndsAt(ResponseKind.FETCH, false, fetch, 'fetch');
});

test('multi-results chained by SERVER_MORE_RESULTS_EXISTS', () => {
  const stream = response(
    columnCount(1),
    columnDef('a'),
    eof(MORE),
    textRow('1'),
    eof(MORE),
    ok(MORE),
    columnCount(1),
    columnDef('b'),
    eof(0),
    textRow('2'),
    eof(AUTOCOMMIT),
  );
  const s = assertEndsAt(ResponseKind.QUERY, false, stream, 'multi');
  assert.equal(s.results, 3);
  const deprecated = response(
    columnCount(1),
    columnDef('a'),
    textRow('1'),
    ok(MORE, 0xfe),
    ok(MORE),
    ok(AUTOCOMMIT),
  );
  assert.equal(assertEndsAt(ResponseKind.QUERY, true, deprecated, 'multi deprecate eof').results, 3);
  // A stored procedure's results end with an ERR: the whole response failed.
  const failing = response(ok(MORE), err());
  assert.equal(assertEndsAt(ResponseKind.QUERY, false, failing, 'multi err').failed, true);
});

test('PREPARE_OK with parameters and columns, with and without DEPRECATE_EOF', () => {
  const withEof = response(
    prepareOk(7, 2, 3),
    columnDef('?'),
    columnDef('?'),
    columnDef('?'),
    eof(0),
    columnDef('a'),
    columnDef('b'),
    eof(0),
  );
  const s = assertEndsAt(ResponseKind.PREPARE, false, withEof, 'prepare eof');
  assert.equal(s.statementId, 7);
  assert.equal(s.statementParams, 3);
  assert.equal(s.statusKnown, false, "PREPARE's response says nothing about the transaction");
  const noEof = response(
    prepareOk(9, 2, 3),
    columnDef('?'),
    columnDef('?'),
    columnDef('?'),
    columnDef('a'),
    columnDef('b'),
  );
  assert.equal(assertEndsAt(ResponseKind.PREPARE, true, noEof, 'prepare no eof').statementId, 9);
  const paramsOnly = response(prepareOk(1, 0, 1), columnDef('?'), eof(0));
  assert.equal(assertEndsAt(ResponseKind.PREPARE, false, paramsOnly, 'params only').statementParams, 1);
  const columnsOnly = response(prepareOk(2, 1, 0), columnDef('a'), eof(0));
  assertEndsAt(ResponseKind.PREPARE, false, columnsOnly, 'columns only');
  assertEndsAt(ResponseKind.PREPARE, false, response(prepareOk(3, 0, 0)), 'neither');
  const failed = assertEndsAt(ResponseKind.PREPARE, false, response(err()), 'prepare err');
  assert.equal(failed.failed, true);
  assert.equal(failed.statementId, -1);
  assert.equal(failed.statementParams, 0);
});

test('COM_FIELD_LIST ends at EOF; single-packet commands end after one packet', () => {
  assertEndsAt(
    ResponseKind.FIELD_LIST,
    false,
    response(columnDef('a'), columnDef('b'), eof(0)),
    'field list',
  );
  assertEndsAt(
    ResponseKind.SINGLE,
    false,
    response(pkt([...Buffer.from('Uptime: 5  Threads: 1')])),
    'statistics',
  );
  assertEndsAt(ResponseKind.SINGLE, false, response(ok(AUTOCOMMIT)), 'ping');
});

test('LOCAL INFILE request is flagged and cut there', () => {
  const s = assertEndsAt(
    ResponseKind.QUERY,
    false,
    response(pkt([0xfb, ...Buffer.from('/etc/passwd')])),
    'infile',
  );
  assert.equal(s.localInfile, true);
});

test('a row of 16 MB or more spans packets; the continuation is not read as a header', () => {
  // A row whose payload is exactly 0xffffff bytes, followed by an empty continuation packet; the
  // first byte of the continuation would look like an ERR (0xff) if it were misread.
  const big = Buffer.alloc(0xffffff, 0x41);
  big[0] = 0xfc;
  const continuation = pkt([0xff, 1, 2]);
  seq = 1;
  const stream = Buffer.concat([
    columnCount(1),
    columnDef('a'),
    eof(0),
    pkt(big),
    continuation,
    eof(AUTOCOMMIT),
  ]);
  const scanner = new ResponseScanner();
  scanner.begin(ResponseKind.QUERY, false);
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 65536) chunks.push(stream.subarray(i, i + 65536));
  assert.equal(scanChunks(scanner, chunks), stream.length);
  assert.equal(scanner.failed, false);
});
