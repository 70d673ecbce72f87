// Verdicts on the work channel's counts: fixed windows through base and head, or a baseline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResultsSchema, type Results, type WorkArm } from '../results/schema.ts';
import { baselineFromResults } from './baseline.ts';
import { compareArms, compareToBaseline, expectedComparisons, expectedFamilies } from './compare.ts';
import { renderComparisonMarkdown } from '../report/comparison.ts';
import { around, makeResults } from '../../test/helpers/results.ts';

const QUERIES = 10_000;

/** An arm's windows: two warm-up windows (discarded), then `kept` at instructionsPerQuery ±0.3%. */
function workArm(instructionsPerQuery: number, seed: number, spin = 0): WorkArm {
  const steady = around(instructionsPerQuery, 0.003, 8, seed);
  const perQuery = [2 * instructionsPerQuery, 1.07 * instructionsPerQuery, ...steady];
  return {
    windows: perQuery.map((ipq, i) => ({
      events: QUERIES,
      queries: QUERIES,
      instructions: ipq * QUERIES,
      syscalls: around(4.02, 0.01, 10, seed + 7)[i]! * QUERIES,
      allSyscalls: around(6.04, 0.01, 10, seed + 7)[i]! * QUERIES,
      clockReads: 8 * QUERIES,
      threads: 7,
      backendRoundTrips: QUERIES + 2,
      backendBytes: 150 * QUERIES,
      wallSec: 2.5,
    })),
    firstKept: 2,
    settled: true,
    spreadPct: 0.6,
    topFunctions: [
      { name: 'JS:*forward clientSession.ts:1:1', object: '???', irPerQuery: 900 },
      ...(spin > 0 ? [{ name: 'JS:*spin clientSession.ts:2:1', object: '???', irPerQuery: spin }] : []),
    ],
    topSyscalls: [],
    profile: null,
  };
}

function withWork(results: Results, arms: Record<string, WorkArm>): Results {
  return ResultsSchema.parse({
    ...results,
    measure: 'both',
    workloads: results.workloads.map((w) => ({ ...w, work: { threads: 1, eventsPerWindow: QUERIES, arms } })),
  });
}

/** Time series that decide nothing (identical arms), so the counts decide the verdict. */
function timeOnly(environment = {}): Results {
  const same = around(1000, 0.005, 8, 3);
  return makeResults({
    workloads: [{ id: 'select', arms: { direct: { tps: same }, proxy: { tps: same }, base: { tps: same } } }],
    environment,
  });
}

test('base vs head: +2% instructions per query is a regression, and says which function grew', () => {
  const results = withWork(timeOnly(), {
    proxy: workArm(27_000 * 1.02, 1, 540),
    base: workArm(27_000, 2),
  });
  const c = compareArms(results, 'proxy', 'base');
  const row = c.workloads[0]!.metrics.find((m) => m.metric === 'instructions_per_query')!;
  assert.equal(row.currentSamples.length, 8, 'the warm-up windows are not samples');
  assert.equal(row.verdict, 'regressed');
  assert.ok(row.delta! > 1.5 && row.delta! < 2.5, `Δ ${row.delta}`);
  assert.equal(c.verdict, 'regressed');
  assert.equal(c.functionDeltas.select?.[0]?.name, 'JS:*spin clientSession.ts:2:1');
  assert.match(renderComparisonMarkdown(c), /Where the instructions went[\s\S]*spin/);
});

test('base vs head: the same proxy twice passes every count', () => {
  const results = withWork(timeOnly(), { proxy: workArm(27_000, 1), base: workArm(27_000, 2) });
  const c = compareArms(results, 'proxy', 'base');
  for (const metric of ['instructions_per_query', 'syscalls_per_query', 'backend_round_trips_per_query']) {
    assert.equal(c.workloads[0]!.metrics.find((m) => m.metric === metric)?.verdict, 'pass', metric);
  }
  assert.doesNotMatch(renderComparisonMarkdown(c), /Where the instructions went/);
});

test('a baseline of counts gates on another CPU model, not on another valgrind or Node', () => {
  const recorded = withWork(timeOnly(), { proxy: workArm(27_000, 1) });
  const baseline = baselineFromResults(recorded);
  const slower = (environment: object) =>
    withWork(timeOnly(environment), { proxy: workArm(27_000 * 1.05, 5) });
  const row = (r: Results) =>
    compareToBaseline(baseline, r).workloads[0]!.metrics.find((m) => m.metric === 'instructions_per_query')!;

  const otherCpu = row(slower({ cpuModel: 'Another CPU @ 3.1GHz' }));
  assert.equal(otherCpu.policy, 'gate');
  assert.equal(otherCpu.verdict, 'regressed');

  const otherValgrind = compareToBaseline(baseline, slower({ valgrindVersion: '3.22.0' }));
  const demoted = otherValgrind.workloads[0]!.metrics.find((m) => m.metric === 'instructions_per_query')!;
  assert.equal(demoted.policy, 'info');
  assert.ok(otherValgrind.warnings.some((w) => /valgrindVersion: null → 3\.22\.0/.test(w)));
});

test('against a committed baseline counts gate at 3% (their drift between runs), base-vs-head at 1%', () => {
  const head = workArm(27_000 * 1.02, 6);
  const ab = compareArms(withWork(timeOnly(), { proxy: head, base: workArm(27_000, 7) }), 'proxy', 'base');
  const row = (c: ReturnType<typeof compareArms>) =>
    c.workloads[0]!.metrics.find((m) => m.metric === 'instructions_per_query')!;
  assert.equal(row(ab).thresholdPct, 1);
  assert.equal(row(ab).verdict, 'regressed');
  const baseline = baselineFromResults(withWork(timeOnly(), { proxy: workArm(27_000, 7) }));
  const judged = compareToBaseline(baseline, withWork(timeOnly(), { proxy: head }));
  assert.equal(row(judged).thresholdPct, 3);
  assert.notEqual(row(judged).verdict, 'regressed');
});

test('a baseline without counts leaves the counts informational, not inconclusive', () => {
  const baseline = baselineFromResults(timeOnly());
  const c = compareToBaseline(baseline, withWork(timeOnly(), { proxy: workArm(27_000, 1) }));
  const row = c.workloads[0]!.metrics.find((m) => m.metric === 'instructions_per_query')!;
  assert.equal(row.policy, 'info');
  assert.notEqual(c.workloads[0]!.verdict, 'inconclusive');
});

test('the Holm families count the work channel only when it runs, and only for sysbench', () => {
  const suite = timeOnly().suite;
  // Time: throughput (TPS, QPS, overhead as one hypothesis), p95, CPU per query.
  assert.equal(expectedComparisons(suite, 'time'), 3);
  assert.equal(expectedComparisons(suite, 'work'), 3);
  // Beside counts, CPU time per query is published and does not gate: 2 timings + 3 counts.
  assert.deepEqual(expectedFamilies(suite, 'both'), { time: 2, work: 3 });
});

test('against a baseline too, a count regression says which function grew', () => {
  const baseline = baselineFromResults(withWork(timeOnly(), { proxy: workArm(27_000, 1) }));
  const c = compareToBaseline(baseline, withWork(timeOnly(), { proxy: workArm(27_000 * 1.05, 4, 1350) }));
  assert.equal(c.verdict, 'regressed');
  assert.equal(c.functionDeltas.select?.[0]?.name, 'JS:*spin clientSession.ts:2:1');
  assert.match(renderComparisonMarkdown(c), /Where the instructions went[\s\S]*spin/);
});

test('no planned-rounds warning when the adaptive rounds can reach significance', async () => {
  const { BUILTIN_SUITES } = await import('../suite/builtins.ts');
  const { plannedRoundsWarning } = await import('./compare.ts');
  const suite = BUILTIN_SUITES.default;
  // The time channel's own family: 2 planned rounds against an 8-round baseline cannot reach
  // p <= 0.05 / k (1/45 at best); the adaptive ones up to maxRounds can.
  assert.match(plannedRoundsWarning(suite, 2, 8, 0.05, 'both') ?? '', /cannot detect a regression/);
  assert.equal(plannedRoundsWarning(suite, 2, 8, 0.05, 'both', suite.maxRounds), null);
  assert.match(plannedRoundsWarning(suite, 2, 8, 0.05, 'both', 2) ?? '', /At least \d+ rounds/);
});

test('a workload the work channel did not measure (mysqlslap) is named as not measured, not passed', () => {
  const measured = withWork(timeOnly(), { proxy: workArm(27_000, 1), base: workArm(27_000, 2) });
  const unmeasured = {
    ...measured.workloads[0]!,
    id: 'mysqlslap-query',
    driver: 'mysqlslap',
    samples: [],
    work: null,
  };
  const results = ResultsSchema.parse({
    ...measured,
    measure: 'work',
    workloads: [{ ...measured.workloads[0]!, samples: [] }, unmeasured],
  });
  const c = compareArms(results, 'proxy', 'base');
  assert.deepEqual(
    c.workloads.map((w) => w.id),
    ['select'],
  );
  assert.ok(
    c.warnings.some((w) => /mysqlslap-query was not measured: the work channel does not count it/.test(w)),
  );
});

test('a baseline that counted only read and write calls leaves syscalls per query informational', () => {
  const recorded = baselineFromResults(withWork(timeOnly(), { proxy: workArm(27_000, 1) }));
  assert.equal(recorded.workloads[0]!.arms.proxy!.syscallsCounted, 'all');
  const row = (c: ReturnType<typeof compareToBaseline>) =>
    c.workloads[0]!.metrics.find((m) => m.metric === 'syscalls_per_query')!;
  const current = withWork(timeOnly(), { proxy: workArm(27_000, 3) });
  assert.equal(row(compareToBaseline(recorded, current)).policy, 'gate');

  // Written before every call was counted: the same samples, without the marker.
  const { syscallsCounted: _counted, ...readWrite } = recorded.workloads[0]!.arms.proxy!;
  const old = { ...recorded, workloads: [{ ...recorded.workloads[0]!, arms: { proxy: readWrite } }] };
  const c = compareToBaseline(old, current);
  assert.equal(row(c).policy, 'info');
  assert.equal(c.workloads[0]!.metrics.find((m) => m.metric === 'instructions_per_query')!.policy, 'gate');
  assert.ok(c.warnings.some((w) => /only read and write system calls/.test(w)));
});

test('a results file written before every call was counted still loads, its syscalls informational', () => {
  const results = withWork(timeOnly(), { proxy: workArm(27_000, 1), base: workArm(27_000, 2) });
  const old = JSON.parse(JSON.stringify(results)) as Record<string, unknown> & typeof results;
  for (const arm of Object.values(old.workloads[0]!.work!.arms)) {
    delete (arm as Partial<WorkArm>).topSyscalls;
    for (const w of arm.windows) {
      for (const key of ['allSyscalls', 'clockReads', 'threads'] as const)
        delete (w as Partial<typeof w>)[key];
    }
  }
  const parsed = ResultsSchema.parse(old);
  assert.equal(parsed.workloads[0]!.work!.arms.proxy!.windows[0]!.allSyscalls, null);
  const c = compareArms(parsed, 'proxy', 'base');
  // No samples on either side: no row, and nothing left undecided by it.
  assert.equal(
    c.workloads[0]!.metrics.find((m) => m.metric === 'syscalls_per_query'),
    undefined,
  );
  assert.equal(c.verdict, 'pass');
});
