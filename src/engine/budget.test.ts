import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUILTIN_SUITES } from '../suite/builtins.ts';
import type { DriverDetection } from '../drivers/types.ts';
import type { DriverName } from '../suite/schema.ts';
import { budgetDeadline, plannedTimeChannelSeconds, RUN_OVERHEAD_SEC } from './budget.ts';
import { createContext, type EngineDeps } from './context.ts';
import { silentProgress } from '../harness/progress.ts';

function context(budgetMinutes?: number, measure: 'time' | 'work' | 'both' = 'both') {
  const deps = {
    exec: () => Promise.reject(new Error('no commands here')),
    now: () => Date.UTC(2026, 0, 1),
    log: () => undefined,
    progress: silentProgress,
    env: {},
    driverFor: () => {
      throw new Error('no drivers here');
    },
  } as unknown as EngineDeps;
  const outDir = mkdtempSync(path.join(tmpdir(), 'athena-bench-budget-'));
  return createContext(
    { suite: BUILTIN_SUITES.default, arms: [], outDir, measure, ...(budgetMinutes ? { budgetMinutes } : {}) },
    deps,
  );
}

const available = (names: DriverName[]) =>
  new Map(names.map((n) => [n, { available: true } as DriverDetection]));

test('the budget is one deadline from the start of the run; the flag wins over the suite', () => {
  assert.equal(
    budgetDeadline(context()),
    Date.UTC(2026, 0, 1) + BUILTIN_SUITES.default.budgetMinutes! * 60_000,
  );
  assert.equal(budgetDeadline(context(2)), Date.UTC(2026, 0, 1) + 120_000);
});

test("the time channel's planned rounds: every runnable workload, every arm, warm-up included", () => {
  const ctx = context();
  const suite = ctx.suite;
  const sysbenchOnly = plannedTimeChannelSeconds(ctx, available(['sysbench']), 2);
  const sysbench = suite.workloads.filter((w) => w.driver === 'sysbench');
  const expected = sysbench.reduce(
    (sum, w) =>
      sum +
      1 +
      2 * (suite.rounds * ((w.options as { timeSec: number }).timeSec + RUN_OVERHEAD_SEC) + w.warmupSec),
    0,
  );
  assert.equal(sysbenchOnly, expected);
  assert.ok(plannedTimeChannelSeconds(ctx, available(['sysbench', 'mysqlslap']), 2) > sysbenchOnly);
  assert.ok(
    plannedTimeChannelSeconds(ctx, available(['sysbench']), 3) > sysbenchOnly,
    'a base arm costs more',
  );
  assert.equal(plannedTimeChannelSeconds(context(undefined, 'work'), available(['sysbench']), 2), 0);
});
