import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baselineFromResults } from '../verdict/baseline.ts';
import { compareToBaseline } from '../verdict/compare.ts';
import { formatNumber } from '../util/format.ts';
import { MARKDOWN_LIMIT, renderComparisonMarkdown } from './comparison.ts';
import { armsFor, makeResults, type WorkloadSpec } from '../../test/helpers/results.ts';

test('summary first, a table per workload with marks, then collapsible details', () => {
  const ids = ['oltp_read_write', 'oltp_point_select', 'oltp_insert'];
  const base = baselineFromResults(
    makeResults({ workloads: ids.map((id, i) => ({ id, arms: armsFor(8, { tps: 1000, seed: i }) })) }),
  );
  const current = makeResults({
    workloads: ids.map((id, i) => ({
      id,
      arms: armsFor(8, { tps: 1000, seed: 10 + i, slowdown: id === 'oltp_insert' ? 0.25 : 0 }),
    })),
  });
  const md = renderComparisonMarkdown(compareToBaseline(base, current));
  const lines = md.split('\n');
  assert.equal(lines[0], '## athena-bench: 🔴 regressed');
  assert.match(lines[2]!, /^\*\*5 regressions in 3 workloads: oltp_insert TPS −\d+\.\d%/);
  assert.ok(md.includes('| metric | baseline | current | Δ% | 95% CI | verdict |'));
  assert.match(md, /### 🔴 oltp_insert — Workload oltp_insert, 16 threads \(8 rounds vs 8 reference\)/);
  assert.match(md, /### ✅ oltp_read_write/);
  assert.match(
    md,
    /\| TPS \| 1,0\d\d tx\/s \| \d{3} tx\/s \| −\d+\.\d% \| \[−\d+\.\d%, −\d+\.\d%\] p=\S+ \| 🔴 regressed \|/,
  );
  assert.match(md, /\| overhead \| 20(\.\d)?% \| 3\d\.\d% \| \+1\d\.\d pts \| \[\+1\d\.\d, \+1\d\.\d\] pts/);
  assert.match(
    md,
    /\| avg latency \| 5 ms \| 5 ms \| ±0\.00% \| \[±0\.00%, ±0\.00%\] \| ✅ pass \(warn only\) \|/,
  );
  for (const s of [
    '<details><summary>Environment',
    '<details><summary>Raw samples',
    '<details><summary>Suite and thresholds',
  ]) {
    assert.ok(md.includes(s), s);
  }
  assert.ok(md.includes('| cpu_us_per_query | lower | 2% | gate |'));
});

test('fingerprint mismatch is said at the top; inconclusive is loud', () => {
  const base = baselineFromResults(
    makeResults({ workloads: [{ id: 'rw', arms: armsFor(3, { tps: 1000 }) }] }),
  );
  const md = renderComparisonMarkdown(
    compareToBaseline(
      base,
      makeResults({
        workloads: [{ id: 'rw', arms: armsFor(3, { tps: 1000, seed: 2, slowdown: 0.15 }) }],
        environment: { cores: 4 },
      }),
    ),
  );
  const top = md.split('\n').slice(0, 12).join('\n');
  assert.match(top, /\[!WARNING\]\n> The environment differs/);
  assert.match(top, /Inconclusive: the data can neither rule a regression in nor out/);
  assert.match(md, /\| TPS \|.*\| ℹ️ info only \|/);
  assert.match(md, /\| \*\*cores\*\* ≠ \| 2 \| 4 \|/);
  assert.match(md, /\(90% only\)/); // 3 vs 3 rounds cannot reach a 95% interval
});

test('stays under 60,000 characters for a huge suite, cutting raw samples first', () => {
  const spec = (count: number, rounds: number, slowdownEvery: number): WorkloadSpec[] =>
    Array.from({ length: count }, (_, i) => ({
      id: `workload_${String(i).padStart(3, '0')}_with_a_long_descriptive_name`,
      arms: armsFor(rounds, { tps: 1000 + i, seed: i, slowdown: i % slowdownEvery === 0 ? 0.3 : 0 }),
    }));
  // Medium: tables fit, raw samples do not.
  const medBase = baselineFromResults(makeResults({ workloads: spec(40, 30, 1000) }));
  const medCmp = compareToBaseline(medBase, makeResults({ workloads: spec(40, 30, 7) }));
  const med = renderComparisonMarkdown(medCmp);
  assert.ok(med.length <= MARKDOWN_LIMIT, `length ${med.length}`);
  assert.match(med, /Raw samples \(\d+ of 40 workloads; the rest cut to fit\)/);
  assert.equal(med.match(/^### /gm)?.length, 40);
  // Huge: even the tables do not fit; the worst workloads are kept, the rest listed. 10 rounds:
  // Holm over 2000 comparisons needs p <= 2.5e-5, and 2/C(20, 10) = 1.1e-5 reaches it.
  const bigBase = baselineFromResults(makeResults({ workloads: spec(400, 10, 1000) }));
  const bigCmp = compareToBaseline(bigBase, makeResults({ workloads: spec(400, 10, 50) }));
  const big = renderComparisonMarkdown(bigCmp);
  assert.ok(big.length <= MARKDOWN_LIMIT, `length ${big.length}`);
  assert.match(big, /more workload\(s\) not shown to fit the comment size/);
  assert.ok(big.startsWith('## athena-bench: '));
  const regressedIds = bigCmp.workloads.filter((w) => w.verdict === 'regressed').map((w) => w.id);
  assert.ok(regressedIds.length > 0);
  for (const id of regressedIds) assert.ok(big.includes(`### 🔴 ${id}`), id);
});

test('number formatting', () => {
  assert.equal(formatNumber(1234.56), '1,235');
  assert.equal(formatNumber(12.345), '12.3');
  assert.equal(formatNumber(0.012345), '0.0123');
  assert.equal(formatNumber(null), 'n/a');
});
