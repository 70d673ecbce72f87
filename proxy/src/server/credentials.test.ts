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

/** Medians of ns per call of `a` and `b`, measured in alternating batches (load hits both alike). */
function medianNsPerCall(
  a: () => unknown,
  b: () => unknown,
  rounds: number,
  batch: number,
): [number, number] {
  const timesA: number[] = [];
  const timesB: number[] = [];
  const time = (fn: () => unknown): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    return Number(process.hrtime.bigint() - start) / batch;
  };
  for (let r = 0; r < rounds; r++) {
    timesA.push(time(a));
    timesB.push(time(b));
  }
  const median = (xs: number[]): number => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return [median(timesA), median(timesB)];
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
  const [known, unknown] = medianNsPerCall(wrongPassword, unknownUser, 15, 400);
  assert.ok(
    unknown > known * 0.5,
    `unknown user ${unknown.toFixed(0)} ns vs wrong password ${known.toFixed(0)} ns`,
  );
});
