import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareArms } from '../verdict/compare.ts';
import { armsFor, makeResults } from '../../test/helpers/results.ts';
import { renderTerminalSummary } from './terminal.ts';

const paths = { report: 'out/report.md', html: 'out/report.html', results: 'out/results.json' };

test('one screen: the verdict, one line per workload with its deciding metric, the table, the paths', () => {
  const ids = ['oltp-read-write', 'select', 'insert', 'mysqlslap-auto', 'mysqlslap-query'];
  const results = makeResults({
    workloads: ids.map((id, i) => {
      const head = armsFor(8, { tps: 1000, slowdown: id === 'select' ? 0.3 : 0, seed: i + 1 });
      const base = armsFor(8, { tps: 1000, seed: i + 11 });
      return { id, arms: { direct: head.direct!, proxy: head.proxy!, base: base.proxy! } };
    }),
  });
  const text = renderTerminalSummary(results, compareArms(results, 'proxy', 'base'), paths);
  const lines = text.trimEnd().split('\n');
  assert.ok(lines.length <= 25, `${lines.length} lines:\n${text}`);
  assert.match(lines[0]!, /^athena-bench: 🔴 regressed — \d+ regressions? in 5 workloads: select /);
  assert.match(
    text,
    /🔴 regressed\s+select\s+TPS −2\d\.\d% \[−\d+\.\d%, −\d+\.\d%\], past the 10% threshold/,
  );
  assert.match(text, /\| Workload \| Threads \| Direct MySQL \| Via proxy \| Overhead \|/);
  assert.match(text, /report: {2}out\/report\.md \(and out\/report\.html\)\nresults: out\/results\.json/);
});

test('a measurement without a reference says so', () => {
  const results = makeResults({ workloads: [{ id: 'select', arms: armsFor(3, { tps: 500 }) }] });
  assert.match(
    renderTerminalSummary(results, null, paths),
    /^athena-bench: suite fixture measured \(no reference/,
  );
});
