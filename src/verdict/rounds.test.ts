import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baselineFromResults } from './baseline.ts';
import { createMoreRoundsHook, decideMoreRounds, secondsPerRound, type RoundsState } from './rounds.ts';
import { armsFor, around, makeResults } from '../../test/helpers/results.ts';

const state = (over: Partial<RoundsState> = {}): RoundsState => ({
  rounds: 3,
  maxRounds: 10,
  step: 2,
  secPerRound: 30,
  remainingBudgetSec: 600,
  regressionConfirmed: false,
  ...over,
});

test('decision rule: inconclusive adds rounds up to maxRounds and the budget', () => {
  assert.deepEqual(decideMoreRounds('inconclusive', state()), {
    moreRounds: 2,
    reason: 'inconclusive',
    verdict: 'inconclusive',
  });
  assert.equal(decideMoreRounds('inconclusive', state({ rounds: 9 })).moreRounds, 1);
  assert.deepEqual(decideMoreRounds('inconclusive', state({ rounds: 10 })), {
    moreRounds: 0,
    reason: 'max-rounds',
    verdict: 'inconclusive',
  });
  assert.equal(decideMoreRounds('inconclusive', state({ remainingBudgetSec: 45 })).moreRounds, 1);
  assert.equal(decideMoreRounds('inconclusive', state({ remainingBudgetSec: 20 })).reason, 'budget');
  assert.equal(decideMoreRounds('pass', state()).moreRounds, 0);
  assert.equal(decideMoreRounds('improved', state()).reason, 'decided');
});

test('decision rule: a pass that cannot resolve the loss it must see gets rounds up to maxRounds', () => {
  assert.deepEqual(decideMoreRounds('pass', state({ unresolved: true })), {
    moreRounds: 2,
    reason: 'resolve',
    verdict: 'pass',
  });
  assert.equal(decideMoreRounds('pass', state({ unresolved: true, rounds: 10 })).reason, 'max-rounds');
  assert.equal(decideMoreRounds('pass', state({ unresolved: true, remainingBudgetSec: 5 })).reason, 'budget');
  assert.equal(decideMoreRounds('improved', state({ unresolved: true })).reason, 'decided');
});

test('decision rule: a regression is re-measured once, even at maxRounds', () => {
  assert.deepEqual(decideMoreRounds('regressed', state({ rounds: 10 })), {
    moreRounds: 2,
    reason: 'confirm-regression',
    verdict: 'regressed',
  });
  assert.deepEqual(decideMoreRounds('regressed', state({ regressionConfirmed: true })), {
    moreRounds: 0,
    reason: 'decided',
    verdict: 'regressed',
  });
  assert.equal(decideMoreRounds('regressed', state({ remainingBudgetSec: 10 })).reason, 'budget');
});

test('seconds per round from the round start times', () => {
  const r = makeResults({ workloads: [{ id: 'rw', arms: armsFor(3, { tps: 1000 }) }] });
  assert.equal(secondsPerRound(r.workloads[0]!), 30); // fixtures start rounds 30 s apart
  const one = makeResults({ workloads: [{ id: 'rw', arms: armsFor(1, { tps: 1000 }) }] });
  assert.equal(secondsPerRound(one.workloads[0]!), 25); // 2 arms × 10 s × 1.25
});

test('hook protocol: inconclusive → +2 until decided; regression → confirmed once, then 0', () => {
  const baseline = baselineFromResults(
    makeResults({ workloads: [{ id: 'rw', arms: armsFor(8, { tps: 1000, seed: 1 }) }] }),
  );
  const log: string[] = [];
  const hook = createMoreRoundsHook({ baseline, log: (l) => log.push(l), maxRounds: 12 });
  // 2 clean rounds of a 30% slowdown against 8 baseline rounds cannot be significant after Holm
  // over 4 gated hypotheses (2/C(10, 2) = 0.044 > 0.0125): inconclusive, more rounds.
  const slow2 = makeResults({
    workloads: [{ id: 'rw', arms: armsFor(2, { tps: 1000, slowdown: 0.3, seed: 5 }) }],
  });
  assert.equal(hook(slow2.workloads[0]!, slow2, 600), 2);
  assert.match(log[0]!, /^rw: inconclusive after 2 rounds, \+2 rounds \(inconclusive\)$/);
  // 3 rounds: 2/C(11, 3) = 0.012 <= 0.0125: regressed, re-measured once before it may fail.
  const slow = makeResults({
    workloads: [{ id: 'rw', arms: armsFor(3, { tps: 1000, slowdown: 0.3, seed: 5 }) }],
  });
  assert.equal(hook(slow.workloads[0]!, slow, 600), 2);
  assert.match(log[1]!, /^rw: regressed after 3 rounds, \+2 rounds \(confirm-regression\)$/);
  const slow5 = makeResults({
    workloads: [{ id: 'rw', arms: armsFor(5, { tps: 1000, slowdown: 0.3, seed: 5 }) }],
  });
  assert.equal(hook(slow5.workloads[0]!, slow5, 540), 0); // confirmed: still regressed, decided
  assert.equal(log.length, 2);
  // Noisy data leaning past the threshold without significance: more rounds while inconclusive.
  const arms = armsFor(2, { tps: 1000, seed: 6 });
  arms.proxy!.tps = around(860, 0.2, 2, 6);
  const noisy = makeResults({ workloads: [{ id: 'rw', arms }] });
  assert.equal(hook(noisy.workloads[0]!, noisy, 600), 2);
  assert.equal(hook(noisy.workloads[0]!, noisy, 10), 0); // out of budget
  // Same distribution as the baseline with enough rounds: pass, no more rounds.
  const fine = makeResults({ workloads: [{ id: 'rw', arms: armsFor(8, { tps: 1000, seed: 7 }) }] });
  assert.equal(hook(fine.workloads[0]!, fine, 600), 0);
});

test('hook in base-vs-head mode', () => {
  const n = 4;
  const results = makeResults({
    workloads: [
      {
        id: 'rw',
        arms: {
          direct: { tps: around(1250, 0.01, n, 1) },
          base: { tps: around(1000, 0.01, n, 2) },
          proxy: { tps: around(1000, 0.01, n, 3) },
        },
      },
    ],
  });
  const hook = createMoreRoundsHook({ arms: { head: 'proxy', base: 'base' } });
  // 4 vs 4 rounds: the exact interval is [D(2), D(15)] of the 16 differences at 97.1%, and the arms
  // are the same ±1%, so every gated metric passes: no more rounds.
  assert.equal(hook(results.workloads[0]!, results, 600), 0);
  // 3 vs 3 rounds of the same arms: nothing leans towards a loss, a pass however few the rounds.
  const three = (headTps: number) =>
    makeResults({
      workloads: [
        {
          id: 'rw',
          arms: {
            direct: { tps: around(1250, 0.01, 3, 1) },
            base: { tps: around(1000, 0.01, 3, 2) },
            proxy: { tps: around(headTps, 0.01, 3, 3) },
          },
        },
      ],
    });
  assert.equal(hook(three(1000).workloads[0]!, three(1000), 600), 0);
  // A head 15% slower: 3 vs 3 rounds reach one-sided p = 1/20 at best, not significant after Holm
  // over the time channel's tests: inconclusive, so +2.
  assert.equal(hook(three(850).workloads[0]!, three(850), 600), 2);
  assert.throws(
    () => createMoreRoundsHook({})(results.workloads[0]!, results, 600),
    /needs a baseline or arms/,
  );
});
