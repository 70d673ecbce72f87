import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PerfMap } from './perfMap.ts';

// Lines of a real /tmp/perf-<pid>.map written by `node --perf-basic-prof` (V8's interpreted,
// baseline and optimised code of one function `hot`, and builtins).
const text = readFileSync(new URL('../../test/fixtures/callgrind/node-perf.map', import.meta.url), 'utf8');

test('an address inside a code object gets its JavaScript name', () => {
  const map = PerfMap.parse(text);
  assert.equal(map.lookup(0x7f8dde7c5d80n), 'JS:*hot [eval]:1:13');
  assert.equal(map.lookup(0x7f8dde7c5d80n + 0x15fn), 'JS:*hot [eval]:1:13');
  assert.equal(map.lookup(0x7f8dde7c5d80n + 0x160n), null, 'one past the end');
  assert.equal(map.lookup(0x18c4000n), 'Builtin:DeoptimizationEntry_Eager');
});

test("callgrind's address names are symbolised, other names are left alone", () => {
  const map = PerfMap.parse(text);
  assert.equal(map.symbolize('0x00007f8dde7c5900'), 'JS:^hot [eval]:1:13');
  assert.equal(map.symbolize('0x0000000000000010'), '0x0000000000000010');
  assert.equal(map.symbolize('uv__io_poll'), 'uv__io_poll');
});

test('code that moved: the later entry at the same address wins', () => {
  const map = PerfMap.parse('1000 10 JS:old\n1000 10 JS:new\nnot a line\n');
  assert.equal(map.size, 2);
  assert.equal(map.lookup(0x1004n), 'JS:new');
});
