import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { UserConfig } from '../config.ts';
import { nativePasswordToken, newScramble } from '../protocol/auth.ts';
import { checkCredentials } from './credentials.ts';

const app: UserConfig = {
  name: 'app',
  password: 'app-secret',
  shard: 'default',
  max_qps: 0,
  burst: 0,
  max_connections: 0,
};
const users = new Map([[app.name, app]]);

test('the right password is accepted; a wrong one or an unknown user is not', () => {
  const scramble = newScramble();
  assert.equal(checkCredentials(users, 'app', nativePasswordToken('app-secret', scramble), scramble), app);
  assert.equal(checkCredentials(users, 'app', nativePasswordToken('nope', scramble), scramble), null);
  assert.equal(checkCredentials(users, 'ghost', nativePasswordToken('app-secret', scramble), scramble), null);
  assert.equal(checkCredentials(users, 'ghost', Buffer.alloc(0), scramble), null);
});

/**
 * The fastest batch of each of `a` and `b`, in ns per call, measured in batches that alternate and
 * swap order each round: load (other processes, GC) only ever adds time, so the minimum is the
 * estimate of what a call costs that a busy machine disturbs least.
 */
function fastestNsPerCall(
  a: () => unknown,
  b: () => unknown,
  rounds: number,
  batch: number,
): [number, number] {
  let bestA = Infinity;
  let bestB = Infinity;
  const time = (fn: () => unknown): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    return Number(process.hrtime.bigint() - start) / batch;
  };
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      bestA = Math.min(bestA, time(a));
      bestB = Math.min(bestB, time(b));
    } else {
      bestB = Math.min(bestB, time(b));
      bestA = Math.min(bestA, time(a));
    }
  }
  return [bestA, bestB];
}

test('refusing an unknown user costs what refusing a wrong password costs (no timing hint that a user exists)', () => {
  const scramble = newScramble();
  const token = randomBytes(20);
  const wrongPassword = (): unknown => checkCredentials(users, 'app', token, scramble);
  const unknownUser = (): unknown => checkCredentials(users, 'ghost', token, scramble);
  for (let i = 0; i < 2000; i++) {
    wrongPassword();
    unknownUser();
  }
  // Skipping the hash makes the unknown user hundreds of times cheaper; the same work lands near 1.
  const [known, unknown] = fastestNsPerCall(wrongPassword, unknownUser, 30, 200);
  assert.ok(
    unknown > known * 0.5,
    `unknown user ${unknown.toFixed(0)} ns vs wrong password ${known.toFixed(0)} ns`,
  );
});
