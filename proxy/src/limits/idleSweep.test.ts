import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleSweep, type IdleCandidate } from './idleSweep.ts';
import { ManualClock } from './manualClock.ts';

/** A session idle since `since` (clock time), or busy: what ClientSession.closeIfIdleSince decides on. */
class FakeSession implements IdleCandidate {
  closed = false;
  constructor(
    public since: number,
    public busy = false,
  ) {}
  closeIfIdleSince(cutoff: number): boolean {
    if (this.closed || this.busy || this.since > cutoff) return false;
    this.closed = true;
    return true;
  }
}

function sweepOver(sessions: FakeSession[], timeoutMs: number, clock: ManualClock) {
  const closedCounts: number[] = [];
  const live = () => sessions.filter((s) => !s.closed);
  const sweep = new IdleSweep(timeoutMs, live, clock, (n) => closedCounts.push(n));
  return { sweep, closedCounts };
}

test('a session idle for the timeout is closed by the next sweep, within a quarter of the timeout', () => {
  const clock = new ManualClock();
  const idle = new FakeSession(0);
  const { sweep, closedCounts } = sweepOver([idle], 1000, clock);
  sweep.start();
  clock.advance(999);
  assert.equal(idle.closed, false, 'closed before its timeout');
  clock.advance(250);
  assert.equal(idle.closed, true, 'still open a quarter of the timeout after it');
  assert.deepEqual(closedCounts, [1]);
  sweep.stop();
});

test('sessions that ran a command lately or are running one stay; sweeps go on until stopped', () => {
  const clock = new ManualClock();
  const active = new FakeSession(0);
  const busy = new FakeSession(0, true);
  const { sweep, closedCounts } = sweepOver([active, busy], 1000, clock);
  sweep.start();
  for (let t = 0; t < 5000; t += 100) {
    active.since = clock.now(); // a command every 100 ms
    clock.advance(100);
  }
  assert.equal(active.closed, false);
  assert.equal(busy.closed, false, 'a long command is not idleness');
  busy.busy = false;
  clock.advance(250);
  assert.equal(busy.closed, true);
  sweep.stop();
  assert.equal(clock.pendingTimers, 0);
  assert.deepEqual(closedCounts, [1]);
});

test('a long timeout is still swept every 10 s; a timeout of 0 never sweeps', () => {
  const clock = new ManualClock();
  const idle = new FakeSession(0);
  const { sweep } = sweepOver([idle], 28_800_000, clock);
  sweep.start();
  clock.advance(28_800_000 + 10_000);
  assert.equal(idle.closed, true);
  sweep.stop();
  const never = sweepOver([new FakeSession(0)], 0, clock).sweep;
  never.start();
  assert.equal(clock.pendingTimers, 0);
});
