import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyStatement, type StatementType } from './statementType.ts';

function classify(sql: string): StatementType {
  const buf = Buffer.from(sql, 'utf8');
  return classifyStatement(buf, 0, buf.length);
}

const cases: Array<[string, StatementType]> = [
  ['SELECT 1', 'select'],
  ['select * from t', 'select'],
  ['SeLeCt 1', 'select'],
  ['select*from t', 'select'],
  ['  \t\r\n SELECT 1', 'select'],
  ['(SELECT 1) UNION (SELECT 2)', 'select'],
  ['((  select 1))', 'select'],
  ['/* hello */ SELECT 1', 'select'],
  ['/* a */ /* b */\n-- line\n# hash\nSELECT 1', 'select'],
  ['--\nSELECT 1', 'select'],
  ['-- comment\tSELECT 1\nINSERT INTO t VALUES (1)', 'insert'],
  ['--x\nSELECT 1', 'other'], // "--x" is not a comment in MySQL
  ['/*!40101 SELECT 1 */', 'select'],
  ['/*!40101 SET NAMES utf8 */', 'other'],
  ['/*! SELECT 1 */', 'select'], // no version: always executed
  // A version the server may be older than: it may skip the comment, so the type is unknowable.
  ['/*!999999 SELECT 1 */ USE mysql', 'other'],
  ['/*!80036 SELECT 1 */ DROP DATABASE x', 'other'],
  ['/*M!100100 SELECT 1 */ USE mysql', 'other'], // MariaDB-only executable comment
  ['/*m! SELECT 1 */', 'other'],
  ['BEGIN /*!999999 NOT */ ATOMIC', 'other'],
  ['START /*!999999 TRANSACTION */', 'other'],
  ['WITH c AS (SELECT 1) /*!999999 SELECT 1 */ DELETE FROM t', 'other'],
  ['/*+ hint */ SELECT 1', 'select'],
  ['/* unterminated SELECT 1', 'other'],
  ['INSERT INTO t VALUES (1)', 'insert'],
  ['insert ignore into t values (1)', 'insert'],
  ['REPLACE INTO t VALUES (1)', 'insert'],
  ['UPDATE t SET a = 1', 'update'],
  ['DELETE FROM t', 'delete'],
  ['BEGIN', 'begin'],
  ['begin work', 'begin'],
  ['BEGIN NOT ATOMIC SELECT 1; END', 'other'],
  ['START TRANSACTION', 'begin'],
  ['start  /* x */ transaction read only', 'begin'],
  ['START SLAVE', 'other'],
  ['START', 'other'],
  ['COMMIT', 'commit'],
  ['commit work', 'commit'],
  ['ROLLBACK', 'other'],
  ['SET autocommit = 0', 'other'],
  ['SHOW TABLES', 'other'],
  ['USE db', 'other'],
  ['CALL p()', 'other'],
  ['XA COMMIT "x"', 'other'],
  ['WITH c AS (SELECT 1) SELECT * FROM c', 'select'],
  ['with recursive c(n) as (select 1 union all select n + 1 from c where n < 3) select n from c', 'select'],
  ['WITH c AS (SELECT id FROM t) DELETE FROM t WHERE id IN (SELECT id FROM c)', 'delete'],
  ['WITH c AS (SELECT 1) UPDATE t, c SET t.a = 1', 'update'],
  ["WITH `sel ect` AS (SELECT ')delete(' AS x) SELECT * FROM `sel ect`", 'select'],
  ['WITH', 'other'],
  ['', 'other'],
  ['   ', 'other'],
  ['/* only a comment */', 'other'],
  ['((((', 'other'],
  [';SELECT 1', 'other'],
  ['SELECTED', 'other'],
  ['selectx 1', 'other'],
  ['select_1', 'other'],
  ['SELECTé', 'other'],
  ['ÉSELECT 1', 'other'],
  ["SELECT 'ünïcödé'", 'select'],
  ['/* ünïcödé */ DELETE FROM t', 'delete'],
  ['\u00a0SELECT 1', 'other'], // NBSP is not whitespace to MySQL
];

for (const [sql, expected] of cases) {
  test(`${JSON.stringify(sql)} -> ${expected}`, () => {
    assert.equal(classify(sql), expected);
  });
}

test('only buf[start, end) is read', () => {
  const buf = Buffer.from('xxxxSELECT 1yyyy DELETE');
  assert.equal(classifyStatement(buf, 4, 12), 'select');
  assert.equal(classifyStatement(buf, 4, 7), 'other', '"SEL" is not SELECT');
  assert.equal(classifyStatement(buf, 0, 12), 'other');
  assert.equal(classifyStatement(buf, 17, buf.length), 'delete');
  assert.equal(classifyStatement(buf, 10, 10), 'other');
  // A COM_QUERY packet: 4-byte header, command byte, then the SQL.
  const packet = Buffer.concat([Buffer.from([9, 0, 0, 0, 0x03]), Buffer.from('UPDATE t')]);
  assert.equal(classifyStatement(packet, 5, packet.length), 'update');
  assert.equal(classifyStatement(packet, 5, packet.length + 100), 'update', 'end past the buffer is clamped');
});

test('random bytes never throw and always give a type', () => {
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const valid = new Set(['select', 'insert', 'update', 'delete', 'begin', 'commit', 'other']);
  const alphabet = Buffer.from(' \t\n()/*-#!+\'"`\\selctSELCTwithWITH');
  for (let n = 0; n < 5000; n++) {
    const len = next() % 40;
    const buf = Buffer.alloc(len);
    for (let i = 0; i < len; i++)
      buf[i] = next() % 3 === 0 ? next() % 256 : (alphabet[next() % alphabet.length] as number);
    assert.ok(valid.has(classifyStatement(buf, 0, len)));
  }
});
