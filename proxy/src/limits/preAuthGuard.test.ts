import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './manualClock.ts';
import { PreAuthGuard } from './preAuthGuard.ts';

function guard(clock = new ManualClock()): PreAuthGuard {
  return new PreAuthGuard({ maxHandshakesPerIp: 3, maxLoginFailuresPerIp: 2, windowMs: 10_000 }, clock);
}

test('one address holds at most maxHandshakesPerIp connections in their handshake; others are unaffected', () => {
  const g = guard();
  for (let i = 0; i < 3; i++) assert.equal(g.admit('10.0.0.1'), null);
  assert.equal(g.admit('10.0.0.1'), 'handshakes_per_ip');
  assert.equal(g.admit('10.0.0.2'), null);
  g.handshakeEnded('10.0.0.1');
  assert.equal(g.handshakesFrom('10.0.0.1'), 2);
  assert.equal(g.admit('10.0.0.1'), null);
});

test('failed logins close an address for the window after its last failure', () => {
  const clock = new ManualClock();
  const g = guard(clock);
  g.loginFailed('10.0.0.1');
  clock.advance(5_000);
  assert.equal(g.admit('10.0.0.1'), null);
  g.handshakeEnded('10.0.0.1');
  g.loginFailed('10.0.0.1');
  assert.equal(g.admit('10.0.0.1'), 'login_throttled');
  assert.equal(g.retryAfterSeconds('10.0.0.1'), 10);
  assert.equal(g.admit('10.0.0.2'), null, 'another address is not throttled');
  clock.advance(9_999);
  assert.equal(g.admit('10.0.0.1'), 'login_throttled');
  clock.advance(1);
  assert.equal(g.admit('10.0.0.1'), null);
  assert.equal(g.retryAfterSeconds('10.0.0.1'), 0);
});

test('failures further apart than the window do not add up', () => {
  const clock = new ManualClock();
  const g = guard(clock);
  for (let i = 0; i < 5; i++) {
    g.loginFailed('10.0.0.1');
    clock.advance(10_000);
  }
  assert.equal(g.admit('10.0.0.1'), null);
});

test('zero turns each limit off', () => {
  const g = new PreAuthGuard(
    { maxHandshakesPerIp: 0, maxLoginFailuresPerIp: 0, windowMs: 1000 },
    new ManualClock(),
  );
  for (let i = 0; i < 100; i++) {
    assert.equal(g.admit('10.0.0.1'), null);
    g.loginFailed('10.0.0.1');
  }
});
