import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logField } from './logText.ts';

test('a log field is quoted and cannot break the line or reach the terminal', () => {
  assert.equal(logField('app'), "'app'");
  assert.equal(logField('a\nFAKE athena: login ok'), "'a\\nFAKE athena: login ok'");
  assert.equal(logField('\u001b[2J\r\t'), "'\\u001b[2J\\r\\t'");
  assert.equal(logField("q'b\\"), "'q\\'b\\\\'");
  assert.equal(logField('\u0085\u2028\u202e\u009b'), "'\\u0085\\u2028\\u202e\\u009b'");
  assert.equal(logField('ünïcödé'), "'ünïcödé'", 'printable text is kept as it is');
  for (let code = 0; code < 0x30000; code++) {
    const field = logField(String.fromCodePoint(code));
    for (const c of field) assert.ok(c.codePointAt(0)! >= 0x20, `U+${code.toString(16)} left ${field}`);
  }
});
