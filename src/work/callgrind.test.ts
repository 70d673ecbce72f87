import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCallgrind } from './callgrind.ts';

// Verbatim callgrind 3.19 dumps of /bin/true, once with valgrind's default name compression and
// once with --compress-strings=no --compress-pos=no (the work channel's settings).
const fixture = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/callgrind/${name}`, import.meta.url), 'utf8');

test('the total is the summary line, and self costs add up to it', () => {
  for (const name of ['true-plain.callgrind.out', 'true-compressed.callgrind.out']) {
    const profile = parseCallgrind(fixture(name));
    assert.equal(profile.totalIr, 128_783, name);
    assert.equal(profile.totalSyscalls, null, `${name}: recorded without --collect-systime`);
    const sum = profile.functions.reduce((s, f) => s + f.selfIr, 0);
    assert.equal(sum, 128_783, `${name}: call costs must not be added to the caller's self cost`);
  }
});

test("a function's self cost matches callgrind_annotate --inclusive=no", () => {
  const profile = parseCallgrind(fixture('true-plain.callgrind.out'));
  const lookup = profile.functions.find((f) => f.name === 'do_lookup_x');
  // callgrind_annotate splits it by source file (inlined headers): 21,172 + 410 + 328.
  assert.equal(lookup?.selfIr, 21_172 + 410 + 328);
  assert.match(lookup.object, /ld-linux-x86-64\.so\.2$/);
  assert.equal(profile.pid, 29211);
  assert.equal(profile.part, 1);
});

test('compressed names resolve to the same functions as written-out ones', () => {
  const key = (f: { name: string; object: string; selfIr: number }) => `${f.object} ${f.name} ${f.selfIr}`;
  const plain = parseCallgrind(fixture('true-plain.callgrind.out')).functions.map(key).sort();
  const compressed = parseCallgrind(fixture('true-compressed.callgrind.out')).functions.map(key).sort();
  assert.deepEqual(compressed, plain);
});

test('a file that is not a callgrind profile is refused', () => {
  assert.throws(() => parseCallgrind('hello\nworld\n'), /not a callgrind profile/);
});

test('with --collect-systime, each function carries its own system calls, and they add up to totals:', () => {
  // /bin/true under callgrind 3.19 with --collect-systime=yes (events: Ir sysCount sysTime).
  const text = fixture('true-systime.callgrind.out');
  const profile = parseCallgrind(text);
  assert.equal(profile.totalIr, 128_783, 'the instruction column is still the first');
  assert.equal(profile.totalSyscalls, Number(/^totals: \d+ (\d+)/m.exec(text)![1]));
  const byName = new Map(profile.functions.map((f) => [f.name, f.selfSyscalls]));
  assert.equal(byName.get('mmap'), 12);
  assert.equal(byName.get('__open_nocancel'), 13);
  assert.equal(byName.get('do_lookup_x'), 0, 'a function that makes no call counts none');
});
