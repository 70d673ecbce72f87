import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type AthenaConfig } from '../config.ts';
import { AthenaMetrics } from '../metrics/metrics.ts';
import { Admission } from './admission.ts';
import { LimitRejectedError } from './errors.ts';
import { ManualClock } from './manualClock.ts';

function config(circuit: string, userExtra = ''): AthenaConfig {
  return parseConfig(`
[[shards]]
name = "a"
user = "root"
password = "x"
[[shards]]
name = "b"
user = "root"
password = "x"
[[users]]
name = "app"
password = "p"
${userExtra}
[[users]]
name = "other"
password = "p"
[circuit]
${circuit}
`);
}

function setup(circuit: string, userExtra = '') {
  const clock = new ManualClock();
  const metrics = new AthenaMetrics();
  const admission = new Admission(config(circuit, userExtra), metrics, clock);
  return {
    clock,
    metrics,
    admission,
    counters: (u: string, s: string) => {
      const c = metrics.rateLimitCounters(u, s);
      return {
        acquired: c.acquired,
        rejected_queue_full: c.rejected_queue_full,
        rejected_timeout: c.rejected_timeout,
        rejected_qps: c.rejected_qps,
        queued: c.queued,
        in_transaction: c.in_transaction,
      };
    },
  };
}

function syncRelease(result: (() => void) | Promise<() => void>): () => void {
  assert.equal(typeof result, 'function', 'expected the synchronous fast path');
  return result as () => void;
}

function rejectedWith(reason: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof LimitRejectedError, String(e));
    assert.equal(e.reason, reason);
    return true;
  };
}

test('configured (user, shard) pairs are registered at zero for /metrics', () => {
  const { metrics } = setup('max_concurrent_per_user_shard = 1');
  const text = metrics.render();
  assert.match(text, /athena_rate_limit_acquired_total\{user="app",shard="a"\} 0/);
  assert.match(text, /athena_rate_limit_rejected_qps_total\{user="other",shard="a"\} 0/);
});

test('fast path: synchronous release function, the same one every time, counted as acquired', () => {
  const { admission, counters } = setup('max_concurrent_per_user_shard = 2');
  const r1 = syncRelease(admission.admit('app', 'a'));
  const r2 = syncRelease(admission.admit('app', 'a'));
  assert.equal(r1, r2, 'no per-command allocation of a release closure');
  r1();
  r2();
  assert.equal(counters('app', 'a').acquired, 2);
});

test('the limit is per (user, shard): other users and other shards are not affected', () => {
  const { admission } = setup('max_concurrent_per_user_shard = 1\nqueue_size = 0');
  syncRelease(admission.admit('app', 'a'));
  assert.throws(() => admission.admit('app', 'a'), rejectedWith('queue_full'));
  syncRelease(admission.admit('app', 'b'));
  syncRelease(admission.admit('other', 'a'));
});

test('alternating between (user, shard) pairs, every command still meets its own gate', () => {
  const { admission, counters } = setup('max_concurrent_per_user_shard = 1\nqueue_size = 0');
  const appA = syncRelease(admission.admit('app', 'a'));
  const appB = syncRelease(admission.admit('app', 'b'));
  assert.throws(() => admission.admit('app', 'a'), rejectedWith('queue_full'));
  const otherB = syncRelease(admission.admit('other', 'b'));
  assert.throws(() => admission.admit('app', 'b'), rejectedWith('queue_full'));
  appA();
  syncRelease(admission.admit('app', 'a'));
  appB();
  otherB();
  assert.deepEqual(
    [counters('app', 'a').acquired, counters('app', 'b').acquired, counters('other', 'b').acquired],
    [2, 1, 1],
  );
});

test('over the limit: queued FIFO, acquired counted when the slot arrives, same connection usable after', async () => {
  const { admission, counters, clock } = setup(
    'max_concurrent_per_user_shard = 1\nqueue_size = 2\nqueue_timeout_ms = 100',
  );
  const release = syncRelease(admission.admit('app', 'a'));
  const second = admission.admit('app', 'a');
  const third = admission.admit('app', 'a');
  assert.ok(second instanceof Promise && third instanceof Promise);
  assert.throws(() => admission.admit('app', 'a'), rejectedWith('queue_full'));
  assert.deepEqual(counters('app', 'a'), {
    acquired: 1,
    rejected_queue_full: 1,
    rejected_timeout: 0,
    rejected_qps: 0,
    queued: 2,
    in_transaction: 0,
  });
  assert.deepEqual(
    admission.snapshot().find((g) => g.user === 'app' && g.shard === 'a'),
    {
      user: 'app',
      shard: 'a',
      active: 1,
      waiting: 2,
    },
  );

  release();
  const releaseSecond = await second;
  assert.equal(counters('app', 'a').acquired, 2);
  clock.advance(100); // third has waited 100 ms
  await assert.rejects(third, rejectedWith('timeout'));
  assert.equal(counters('app', 'a').rejected_timeout, 1);
  releaseSecond();
  // Nothing leaked: the gate is free again and the fast path works.
  syncRelease(admission.admit('app', 'a'))();
  assert.deepEqual(counters('app', 'a'), {
    acquired: 3,
    rejected_queue_full: 1,
    rejected_timeout: 1,
    rejected_qps: 0,
    queued: 2,
    in_transaction: 0,
  });
});

test('max_qps: the token bucket rejects with rate_limited (ERR 1226 42000) and counts rejected_qps', () => {
  const { admission, clock, counters } = setup(
    'max_concurrent_per_user_shard = 10',
    'max_qps = 2\nburst = 3',
  );
  for (let i = 0; i < 3; i++) syncRelease(admission.admit('app', 'a'))();
  assert.throws(
    () => admission.admit('app', 'a'),
    (e: unknown) => {
      assert.ok(e instanceof LimitRejectedError);
      assert.equal(e.reason, 'rate_limited');
      assert.equal(e.errno, 1226);
      assert.equal(e.sqlState, '42000');
      assert.equal(e.message, "User 'app' has exceeded the 'max_qps' resource (current value: 2)");
      return true;
    },
  );
  // The bucket is per user: shard b shares it.
  assert.throws(() => admission.admit('app', 'b'), rejectedWith('rate_limited'));
  assert.equal(counters('app', 'a').rejected_qps, 1);
  assert.equal(counters('app', 'b').rejected_qps, 1);
  clock.advance(500); // one token at 2 qps
  syncRelease(admission.admit('app', 'b'))();
  assert.throws(() => admission.admit('app', 'a'), rejectedWith('rate_limited'));
  // A user without max_qps is never rate limited.
  for (let i = 0; i < 100; i++) syncRelease(admission.admit('other', 'a'))();
});

test('max_qps with burst 0 allows one second of queries at once', () => {
  const { admission } = setup('max_concurrent_per_user_shard = 100', 'max_qps = 5');
  for (let i = 0; i < 5; i++) syncRelease(admission.admit('app', 'a'))();
  assert.throws(() => admission.admit('app', 'a'), rejectedWith('rate_limited'));
});

test('the rendered metrics carry the counts', async () => {
  const { admission, metrics, clock } = setup(
    'max_concurrent_per_user_shard = 1\nqueue_size = 1\nqueue_timeout_ms = 10',
  );
  const release = syncRelease(admission.admit('app', 'a'));
  const waiting = admission.admit('app', 'a');
  assert.throws(() => admission.admit('app', 'a'), rejectedWith('queue_full'));
  clock.advance(10);
  await assert.rejects(Promise.resolve(waiting), rejectedWith('timeout'));
  release();
  const text = metrics.render();
  assert.match(text, /^athena_rate_limit_acquired_total\{user="app",shard="a"\} 1$/m);
  assert.match(text, /^athena_rate_limit_rejected_queue_full_total\{user="app",shard="a"\} 1$/m);
  assert.match(text, /^athena_rate_limit_rejected_timeout_total\{user="app",shard="a"\} 1$/m);
  assert.match(text, /^athena_rate_limit_rejected_qps_total\{user="app",shard="a"\} 0$/m);
});

test('queue waits: counted when a command queues, their time observed when it gets a slot or times out', async () => {
  const { admission, metrics, clock } = setup(
    'max_concurrent_per_user_shard = 1\nqueue_size = 2\nqueue_timeout_ms = 100',
  );
  const release = syncRelease(admission.admit('app', 'a'));
  const second = admission.admit('app', 'a');
  const third = admission.admit('app', 'a');
  clock.advance(3);
  release(); // second waited 3 ms
  const releaseSecond = await second;
  clock.advance(97); // third times out after 100 ms
  await assert.rejects(Promise.resolve(third), rejectedWith('timeout'));
  releaseSecond();
  const text = metrics.render();
  const series = (name: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    assert.ok(line, `${name} in\n${text}`);
    return Number(line.slice(name.length + 1));
  };
  const labels = 'user="app",shard="a"';
  assert.equal(series(`athena_rate_limit_queued_total{${labels}}`), 2);
  assert.equal(series(`athena_rate_limit_queue_wait_seconds_count{${labels}}`), 2);
  assert.ok(Math.abs(series(`athena_rate_limit_queue_wait_seconds_sum{${labels}}`) - 0.103) < 1e-9);
  assert.equal(series(`athena_rate_limit_queue_wait_seconds_bucket{${labels},le="0.0025"}`), 0);
  assert.equal(series(`athena_rate_limit_queue_wait_seconds_bucket{${labels},le="0.005"}`), 1);
  assert.equal(series(`athena_rate_limit_queue_wait_seconds_bucket{${labels},le="0.1"}`), 2);
  assert.equal(series(`athena_rate_limit_queue_wait_seconds_bucket{${labels},le="+Inf"}`), 2);
  // A command that got a free slot at once waited for nothing and is not observed.
  syncRelease(admission.admit('app', 'a'))();
  assert.equal(metrics.rateLimitCounters('app', 'a').queued, 2);
});

test('admitHeld: a session keeping its slot never queues, is counted in_transaction, and still meets max_qps', () => {
  const { admission, counters } = setup(
    'max_concurrent_per_user_shard = 1\nqueue_size = 0',
    'max_qps = 1\nburst = 3',
  );
  const release = syncRelease(admission.admit('app', 'a'));
  assert.throws(() => admission.admit('app', 'a'), rejectedWith('queue_full'));
  admission.admitHeld('app', 'a'); // the slot's own session: no queue, even with the gate full
  assert.throws(() => admission.admitHeld('app', 'a'), rejectedWith('rate_limited'));
  assert.deepEqual(counters('app', 'a'), {
    acquired: 2,
    rejected_queue_full: 1,
    rejected_timeout: 0,
    rejected_qps: 1,
    queued: 0,
    in_transaction: 1,
  });
  assert.deepEqual(
    admission.snapshot().find((g) => g.user === 'app' && g.shard === 'a'),
    { user: 'app', shard: 'a', active: 1, waiting: 0 },
  );
  release();
});
