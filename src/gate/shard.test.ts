import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_SUITES } from '../suite/builtins.ts';
import { SuiteSchema, type Suite } from '../suite/schema.ts';
import { ShardSpecSchema, assignShards, nominalSeconds, shardSuite, suiteHash } from './shard.ts';

const quick = BUILTIN_SUITES.quick;
const none = { kind: 'none' as const, commit: null };

function suiteOf(seconds: number[]): Suite {
  return SuiteSchema.parse({
    name: 'sized',
    workloads: seconds.map((timeSec, i) => ({
      id: `w${i}`,
      title: `W${i}`,
      driver: 'sysbench',
      threads: 1,
      options: { test: 'oltp_point_select', timeSec },
    })),
  });
}

test('--shard i/n: 1 <= i <= n <= 64, anything else names what was expected', () => {
  assert.deepEqual(ShardSpecSchema.parse('2/4'), { index: 2, count: 4 });
  assert.deepEqual(ShardSpecSchema.parse('64/64'), { index: 64, count: 64 });
  for (const bad of ['0/2', '3/2', '1/65', '2', 'a/b', '1/2/3', '-1/2']) {
    const parsed = ShardSpecSchema.safeParse(bad);
    assert.equal(parsed.success, false, bad);
    assert.match(parsed.error!.issues[0]!.message, /expected/, bad);
  }
});

test('every workload lands in exactly one shard, in suite order, for every shard count', () => {
  for (let n = 1; n <= quick.workloads.length; n++) {
    const shards = assignShards(quick, n);
    assert.equal(shards.length, n);
    assert.deepEqual(shards.flat().sort(), quick.workloads.map((w) => w.id).sort(), `n=${n}`);
    const order = quick.workloads.map((w) => w.id);
    for (const ids of shards)
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => order.indexOf(a) - order.indexOf(b)),
      );
  }
});

test('the split balances expected durations: longest first to the least loaded shard', () => {
  const suite = suiteOf([10, 8, 6, 5, 4, 3]);
  const shards = assignShards(suite, 2);
  const load = (ids: string[]) =>
    ids.reduce((s, id) => s + nominalSeconds(suite.workloads.find((w) => w.id === id)!), 0);
  // 10 → A, 8 → B, 6 → B, 5 → A, 4 → B, 3 → A: 10+5+3 = 8+6+4.
  assert.deepEqual(shards, [
    ['w0', 'w3', 'w5'],
    ['w1', 'w2', 'w4'],
  ]);
  assert.equal(load(shards[0]!), load(shards[1]!));
});

test('the split is stable: the same suite in another key or workload order gives the same shards and hash', () => {
  const reordered = SuiteSchema.parse(
    Object.fromEntries(Object.entries({ ...quick, workloads: [...quick.workloads].reverse() }).reverse()),
  );
  const ids = (s: Suite) => assignShards(s, 2).map((shard) => [...shard].sort());
  assert.deepEqual(ids(reordered), ids(quick));
  assert.equal(suiteHash(SuiteSchema.parse(JSON.parse(JSON.stringify(quick)))), suiteHash(quick));
  assert.notEqual(suiteHash(quick), suiteHash(quick, { durationSec: 1 }), 'overrides change what is run');
  assert.notEqual(suiteHash(quick), suiteHash(suiteOf([2])));
});

test('a shard records the whole suite; a shard that would run nothing is refused', () => {
  const { suite, record } = shardSuite(quick, { index: 2, count: 2 }, none);
  assert.deepEqual(
    suite.workloads.map((w) => w.id),
    assignShards(quick, 2)[1],
  );
  assert.deepEqual(
    record.suiteWorkloads,
    quick.workloads.map((w) => w.id),
  );
  assert.equal(record.suiteHash, suiteHash(quick));
  assert.throws(
    () => shardSuite(suiteOf([1, 2]), { index: 3, count: 3 }, none),
    /shard 3\/3.*only 2 workload/,
  );
});
