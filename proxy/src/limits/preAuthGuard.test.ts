import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from './manualClock.ts';
import { addressGroup, PreAuthGuard, type PreAuthSettings } from './preAuthGuard.ts';

function guard(clock = new ManualClock(), settings: Partial<PreAuthSettings> = {}): PreAuthGuard {
  return new PreAuthGuard(
    { maxHandshakesPerIp: 3, maxHandshakes: 0, maxLoginFailuresPerIp: 2, windowMs: 10_000, ...settings },
    clock,
  );
}

/** One wrong password from `address`, judged. */
function fail(g: PreAuthGuard, address: string): void {
  assert.equal(g.beginAttempt(address), true, `${address} was throttled before this guess`);
  g.attemptEnded(address, true);
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

test('maxHandshakes caps connections still logging in across all addresses', () => {
  const g = guard(new ManualClock(), { maxHandshakes: 4 });
  for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'])
    assert.equal(g.admit(address), null);
  assert.equal(g.admit('10.0.0.5'), 'handshakes');
  assert.equal(g.handshakes, 4);
  g.handshakeEnded('10.0.0.2');
  assert.equal(g.admit('10.0.0.5'), null);
  assert.equal(g.admit('10.0.0.6'), 'handshakes');
});

test('with every slot taken, a newcomer may take one from the busiest address when that one holds more than the newcomer would', () => {
  const g = guard(new ManualClock(), { maxHandshakes: 6, maxHandshakesPerIp: 0 });
  for (let i = 0; i < 4; i++) assert.equal(g.admit('10.0.0.1'), null);
  for (let i = 0; i < 2; i++) assert.equal(g.admit('10.0.0.2'), null);
  assert.equal(g.admit('10.0.0.3'), 'handshakes');
  assert.equal(g.groupToMakeRoomFor('10.0.0.3'), '10.0.0.1', "4 against the newcomer's 1");
  assert.equal(g.groupToMakeRoomFor('10.0.0.2'), '10.0.0.1', '4 against 3');
  g.handshakeEnded('10.0.0.1');
  assert.equal(g.admit('10.0.0.2'), null);
  // 10.0.0.1 and 10.0.0.2 hold 3 each: neither takes from the other, a third address still may.
  assert.equal(g.groupToMakeRoomFor('10.0.0.2'), null);
  assert.equal(g.groupToMakeRoomFor('10.0.0.1'), null);
  assert.notEqual(g.groupToMakeRoomFor('10.0.0.3'), null);
  // One slot per address: nobody holds more than a newcomer would.
  const spread = guard(new ManualClock(), { maxHandshakes: 3, maxHandshakesPerIp: 0 });
  for (const a of ['10.0.1.1', '10.0.1.2', '10.0.1.3']) assert.equal(spread.admit(a), null);
  assert.equal(spread.groupToMakeRoomFor('10.0.1.4'), null);
});

test('a handshake that ends twice (or was never admitted) frees no slot of anyone else', () => {
  const g = guard(new ManualClock(), { maxHandshakes: 2 });
  assert.equal(g.admit('10.0.0.1'), null);
  g.handshakeEnded('10.0.0.1');
  g.handshakeEnded('10.0.0.1');
  g.handshakeEnded('10.0.0.9');
  assert.equal(g.handshakes, 0);
  assert.equal(g.admit('10.0.0.2'), null);
  assert.equal(g.admit('10.0.0.3'), null);
  assert.equal(g.admit('10.0.0.4'), 'handshakes');
});

test('IPv6 addresses of one /64 share the per-address cap and the failure budget; IPv4-mapped ones are IPv4', () => {
  assert.equal(addressGroup('2001:db8:0:1::1'), '2001:db8:0:1::/64');
  assert.equal(addressGroup('2001:0db8:0000:0001:ffff:1:2:3'), '2001:db8:0:1::/64');
  assert.equal(addressGroup('::1'), '::/64');
  assert.equal(addressGroup('fe80::1%eth0'), 'fe80::/64');
  assert.equal(addressGroup('2001:db8::ffff:1.2.3.4'), '2001:db8::/64');
  assert.equal(addressGroup('1:2:3:4:5:6:7:8'), '1:2:3:4::/64');
  assert.equal(addressGroup('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(addressGroup('192.0.2.7'), '192.0.2.7');
  assert.equal(addressGroup('?'), '?');
  const g = guard();
  for (let i = 1; i <= 3; i++) assert.equal(g.admit(`2001:db8:0:1::${i}`), null);
  assert.equal(g.admit('2001:db8:0:1:abcd::9'), 'handshakes_per_ip');
  assert.equal(g.admit('2001:db8:0:2::1'), null, 'the next /64 is another host');
  fail(g, '2001:db8:0:1::1');
  fail(g, '2001:db8:0:1::2');
  assert.equal(g.beginAttempt('2001:db8:0:1::3'), false, 'another address of the /64 is throttled too');
});

test('failed logins close an address for the window after its last failure', () => {
  const clock = new ManualClock();
  const g = guard(clock);
  fail(g, '10.0.0.1');
  clock.advance(5_000);
  assert.equal(g.admit('10.0.0.1'), null);
  g.handshakeEnded('10.0.0.1');
  fail(g, '10.0.0.1');
  assert.equal(g.admit('10.0.0.1'), 'login_throttled');
  assert.equal(g.retryAfterSeconds('10.0.0.1'), 10);
  assert.equal(g.admit('10.0.0.2'), null, 'another address is not throttled');
  clock.advance(9_999);
  assert.equal(g.admit('10.0.0.1'), 'login_throttled');
  clock.advance(1);
  assert.equal(g.admit('10.0.0.1'), null);
  assert.equal(g.retryAfterSeconds('10.0.0.1'), 0);
});

test('connections admitted together before the first failure get no more guesses than the budget', () => {
  const g = guard(new ManualClock(), { maxLoginFailuresPerIp: 3, maxHandshakesPerIp: 0 });
  // Ten handshakes open at once: the address had no failure yet, so all are admitted.
  for (let i = 0; i < 10; i++) assert.equal(g.admit('10.0.0.1'), null);
  let judged = 0;
  for (let i = 0; i < 10; i++) {
    if (!g.beginAttempt('10.0.0.1')) continue;
    judged++;
    g.attemptEnded('10.0.0.1', true);
  }
  assert.equal(judged, 3);
});

test('passwords being judged count against the budget until judged; a right one gives its share back', () => {
  const g = guard(new ManualClock(), { maxLoginFailuresPerIp: 2 });
  assert.equal(g.beginAttempt('10.0.0.1'), true);
  assert.equal(g.beginAttempt('10.0.0.1'), true);
  assert.equal(g.beginAttempt('10.0.0.1'), false, 'two guesses outstanding use up a budget of two');
  assert.equal(g.admit('10.0.0.1'), 'login_throttled');
  g.attemptEnded('10.0.0.1', false);
  g.attemptEnded('10.0.0.1', false);
  assert.equal(g.beginAttempt('10.0.0.1'), true, 'right passwords are not failures');
  g.attemptEnded('10.0.0.1', true);
  assert.equal(g.beginAttempt('10.0.0.1'), true);
  g.attemptEnded('10.0.0.1', true);
  assert.equal(g.beginAttempt('10.0.0.1'), false);
});

test('failures further apart than the window do not add up', () => {
  const clock = new ManualClock();
  const g = guard(clock);
  for (let i = 0; i < 5; i++) {
    fail(g, '10.0.0.1');
    clock.advance(10_000);
  }
  assert.equal(g.admit('10.0.0.1'), null);
});

test('zero turns each limit off', () => {
  const g = new PreAuthGuard(
    { maxHandshakesPerIp: 0, maxHandshakes: 0, maxLoginFailuresPerIp: 0, windowMs: 1000 },
    new ManualClock(),
  );
  for (let i = 0; i < 100; i++) {
    assert.equal(g.admit('10.0.0.1'), null);
    fail(g, '10.0.0.1');
  }
});
