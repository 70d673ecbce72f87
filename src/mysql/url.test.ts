import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMysqlUrl, formatMysqlUrl, maskSecretsInUrls, redact } from './url.ts';
import { UsageError } from '../util/errors.ts';

test('parses a full mysql URL', () => {
  assert.deepEqual(parseMysqlUrl('mysql://root:test@127.0.0.1:3307/test'), {
    host: '127.0.0.1',
    port: 3307,
    user: 'root',
    password: 'test',
    database: 'test',
  });
});

test('defaults the port to 3306 and leaves the database out when absent', () => {
  assert.deepEqual(parseMysqlUrl('mysql://app@db.internal'), {
    host: 'db.internal',
    port: 3306,
    user: 'app',
    password: '',
    database: undefined,
  });
});

test('decodes percent-encoded user, password and database', () => {
  const conn = parseMysqlUrl('mysql://us%40er:p%3Aw%2Fd%40@[::1]:3310/my%20db');
  assert.equal(conn.user, 'us@er');
  assert.equal(conn.password, 'p:w/d@');
  assert.equal(conn.host, '::1');
  assert.equal(conn.database, 'my db');
});

test('rejects other schemes, missing users and bad ports, naming the field', () => {
  assert.throws(() => parseMysqlUrl('postgres://u:p@h/db'), /--mysql: expected the mysql:\/\/ scheme/);
  assert.throws(
    () => parseMysqlUrl('mysql://:secret@h/db'),
    (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /--mysql: user: expected a user name/);
      assert.doesNotMatch(error.message, /secret/);
      return true;
    },
  );
  assert.throws(() => parseMysqlUrl('mysql://u:p@h:99999/db'), /expected a URL/);
  assert.throws(
    () => parseMysqlUrl('not a url with hunter2', 'mysql-host'),
    /^UsageError|mysql-host: expected a URL/,
  );
});

test('an unparsable URL does not echo its password', () => {
  assert.throws(
    () => parseMysqlUrl('mysql://root:hunter2@host:notaport/db'),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.doesNotMatch(error.message, /hunter2/);
      assert.match(error.message, /mysql:\/\/root:\*\*\*@host/);
      return true;
    },
  );
});

test('formats with the password masked unless revealed', () => {
  const conn = { host: '127.0.0.1', port: 3306, user: 'root', password: 'p@ss', database: 'test' };
  assert.equal(formatMysqlUrl(conn), 'mysql://root:***@127.0.0.1:3306/test');
  assert.equal(formatMysqlUrl(conn, { revealPassword: true }), 'mysql://root:p%40ss@127.0.0.1:3306/test');
  assert.deepEqual(parseMysqlUrl(formatMysqlUrl(conn, { revealPassword: true })), conn);
});

test('masks passwords in any URL inside a text, and redacts named secrets', () => {
  assert.equal(
    maskSecretsInUrls('connecting to mysql://root:s3cret@h:1/d and http://u:tok@x'),
    'connecting to mysql://root:***@h:1/d and http://u:***@x',
  );
  assert.equal(redact('token abcdef in log, abcdef again', ['abcdef']), 'token *** in log, *** again');
});
