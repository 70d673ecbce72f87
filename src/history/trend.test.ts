import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { joinWithTrend } from '../action/history-trend.ts';
import { writeSuiteHistory } from './store.ts';
import { compareCommand } from '../cli/verdict.ts';
import { MAX_COMMENT_CHARS } from '../action/comment.ts';
import type { Results } from '../results/schema.ts';
import { currentRun, renderTrend, TREND_POINTS, type CurrentRun } from './trend.ts';
import {
  proxyWorkCounts,
  syntheticHistory,
  syntheticSeries,
  syntheticSha,
} from '../../test/helpers/series.ts';
import { armsFor, makeResults } from '../../test/helpers/results.ts';
import { captureIO } from '../../test/helpers/io.ts';

/** The trend of the default branch in a pull request's comment: Mermaid charts from a history. */

const LENGTH = 30;
const history = syntheticHistory('quick', {
  instructions_per_query: syntheticSeries({ length: LENGTH, noise: 0.001, seed: 4, level: 41_000 }),
  tps: syntheticSeries({ length: LENGTH, noise: 0.05, seed: 5, level: 1000 }),
});

/** The numbers of a chart's `line [...]` and the labels of its x-axis. */
function chartsOf(markdown: string) {
  const blocks = [...markdown.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.map((block) => {
    assert.match(block, /^xychart-beta\n/);
    const line = /^ {2}line \[(.*)\]$/m.exec(block)![1]!.split(', ').map(Number);
    const labels = /^ {2}x-axis \[(.*)\]$/m
      .exec(block)![1]!
      .split(', ')
      .map((s) => JSON.parse(s) as string);
    const [, lo, hi] = /^ {2}y-axis ".*" (\S+) --> (\S+)$/m.exec(block)!.map(Number);
    return { block, line, labels, lo: lo!, hi: hi! };
  });
}

test("the chart has the default branch's last N points and this pull request's value last", () => {
  const prValue = 43_210;
  const current: CurrentRun = {
    metric: 'instructions_per_query',
    arm: 'proxy',
    values: new Map([['select', prValue]]),
  };
  const markdown = renderTrend(history, current);
  const [chart, ...more] = chartsOf(markdown);
  assert.equal(more.length, 0);
  assert.equal(chart!.line.length, TREND_POINTS + 1);
  assert.equal(chart!.line.at(-1), prValue);
  const expected = history.points
    .slice(-TREND_POINTS)
    .map((p) => p.workloads.select!.arms.proxy!.metrics.instructions_per_query!.median);
  // Six significant digits are kept.
  chart!.line
    .slice(0, -1)
    .forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= 1e-5 * expected[i]!, `${v} ${expected[i]}`));
  assert.deepEqual(chart!.labels, [
    ...Array.from({ length: TREND_POINTS }, (_, i) => syntheticSha(LENGTH - TREND_POINTS + i).slice(0, 7)),
    'PR',
  ]);
  for (const v of chart!.line) assert.ok(chart!.lo < v && v < chart!.hi, `${v} within the y-axis`);
  assert.match(markdown, /instructions per query/);
  assert.match(
    markdown,
    /`select`: this pull request 43210, the default branch's last 20: median 4\d{4}(\.\d+)? \(\+\d\.\d%\)/,
  );

  // A shorter history gives all its points; a workload the history lacks gets no chart.
  const short = { ...history, points: history.points.slice(0, 4) };
  const two = renderTrend(short, {
    ...current,
    values: new Map([
      ['select', 1],
      ['other', 2],
    ]),
  });
  assert.deepEqual(
    chartsOf(two).map((c) => c.line.length),
    [5],
  );
  assert.equal(renderTrend({ ...history, points: [] }, current), '');
});

test('at most five workloads are charted', () => {
  const values = new Map(Array.from({ length: 8 }, (_, i) => [`w${i}`, 100 + i] as const));
  const wide = {
    ...history,
    points: history.points.map((p) => ({
      ...p,
      workloads: Object.fromEntries([...values.keys()].map((w) => [w, p.workloads.select!])),
    })),
  };
  const charts = chartsOf(renderTrend(wide, { metric: 'tps', arm: 'proxy', values }));
  assert.equal(charts.length, 5);
  assert.match(charts[4]!.block, /title "w4: TPS/);
});

test("the run's instructions per query are preferred to its TPS when it has them", () => {
  const timed = makeResults({ workloads: [{ id: 'select', arms: armsFor(5, { tps: 900 }) }] });
  const byTime = currentRun(timed)!;
  assert.equal(byTime.metric, 'tps');
  assert.equal(byTime.arm, 'proxy');
  assert.ok(Math.abs(byTime.values.get('select')! - 900) < 20);

  const counted: Results = structuredClone(timed);
  counted.workloads[0]!.work = proxyWorkCounts(41_000);
  const byWork = currentRun(counted)!;
  assert.equal(byWork.metric, 'instructions_per_query');
  assert.ok(Math.abs(byWork.values.get('select')! - 41_000) < 1);
});

test('the trend is left out of a comment it would push over the size limit', () => {
  const trend = renderTrend(history, { metric: 'tps', arm: 'proxy', values: new Map([['select', 990]]) });
  assert.equal(joinWithTrend('verdict', trend, 'footer'), `verdict\n\n${trend}\n\nfooter`);
  assert.equal(joinWithTrend('verdict', '', 'footer'), 'verdict\n\nfooter');
  const long = 'x'.repeat(MAX_COMMENT_CHARS - trend.length);
  assert.equal(joinWithTrend(long, trend, 'footer'), `${long}\n\nfooter`);
});

test('compare --history-store DIR ends the report with the trend; without it there is none', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'history-trend-cli-'));
  try {
    const results = makeResults({ workloads: [{ id: 'select', arms: armsFor(5, { tps: 900 }) }] });
    await writeFile(path.join(dir, 'results.json'), JSON.stringify(results));
    await writeSuiteHistory(path.join(dir, 'store'), { ...history, suite: results.suite.name });
    const compare = async (...extra: string[]) => {
      const io = captureIO(dir);
      const code = await compareCommand(['--results', 'results.json', '--base-arm', 'direct', ...extra], io);
      assert.ok(code === 0 || code === 1, io.err);
      return io.out;
    };
    assert.ok(!(await compare()).includes('mermaid'));
    const [chart, ...more] = chartsOf(await compare('--history-store', 'store'));
    assert.equal(more.length, 0);
    assert.equal(chart!.line.length, TREND_POINTS + 1);
    const prTps = currentRun(results)!.values.get('select')!;
    assert.ok(Math.abs(chart!.line.at(-1)! - prTps) <= 1e-5 * prTps);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
