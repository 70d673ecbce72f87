import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCallgrind } from './callgrind.ts';
import { syscallName, syscallsPerQuery, windowSyscalls } from './syscalls.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/callgrind/${name}`, import.meta.url), 'utf8');

test("glibc's wrapper names give the call's name", () => {
  const names = {
    epoll_wait: 'epoll_wait',
    __libc_recv: 'recv',
    __open_nocancel: 'open',
    __GI___close_nocancel: 'close',
    __fcntl64_nocancel_adjusted: 'fcntl64',
    __pread64_nocancel: 'pread64',
    'writev@@GLIBC_2.2.5': 'writev',
  };
  for (const [fn, call] of Object.entries(names)) assert.equal(syscallName(fn).name, call, fn);
});

test('clock reads are told apart: the vDSO answers them natively', () => {
  for (const fn of ['clock_gettime@@GLIBC_2.17', '__gettimeofday_syscall', '__clock_gettime64', 'time']) {
    assert.equal(syscallName(fn).clockRead, true, fn);
  }
  for (const fn of ['epoll_wait', 'recv', 'futex_wait', 'timer_settime@@GLIBC_2.34']) {
    assert.equal(syscallName(fn).clockRead, false, fn);
  }
});

test("a window's calls by name add up to its total, clock reads apart", () => {
  const profile = parseCallgrind(fixture('true-systime.callgrind.out'));
  const calls = windowSyscalls(profile)!;
  const named = [...calls.byName.values()].reduce((s, n) => s + n, 0);
  assert.equal(named, profile.totalSyscalls);
  assert.equal(calls.clockReads, 0, '/bin/true reads no clock');
  assert.equal(calls.syscalls, profile.totalSyscalls);
  assert.equal(calls.byName.get('open'), 13);
  const clocked = { ...profile, functions: [...profile.functions, fn('clock_gettime@@GLIBC_2.17', 5)] };
  const withClock = windowSyscalls({ ...clocked, totalSyscalls: profile.totalSyscalls! + 5 })!;
  assert.equal(withClock.clockReads, 5);
  assert.equal(withClock.syscalls, profile.totalSyscalls);
});

test('a dump without a sysCount column has no system calls to give', () => {
  assert.equal(windowSyscalls(parseCallgrind(fixture('true-plain.callgrind.out'))), null);
});

test('calls per query merge the windows, most frequent first', () => {
  const perQuery = syscallsPerQuery(
    [
      new Map([
        ['recv', 200],
        ['epoll_wait', 201],
        ['clock_gettime', 600],
      ]),
      new Map([
        ['recv', 200],
        ['epoll_wait', 199],
      ]),
    ],
    200,
    2,
  );
  assert.deepEqual(perQuery, [
    { name: 'clock_gettime', perQuery: 3, clockRead: true },
    { name: 'epoll_wait', perQuery: 2, clockRead: false },
  ]);
});

function fn(name: string, selfSyscalls: number) {
  return { name, object: '/usr/lib/x86_64-linux-gnu/libc.so.6', selfIr: 10, selfSyscalls };
}
