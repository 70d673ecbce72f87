// The history store: points built from results files, appended idempotently, bounded by count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../util/errors.ts';
import { pointFromResults } from './point.ts';
import { HistoryPointSchema } from './schema.ts';
import { appendPoints, parseHistory, readStore, readSuiteHistory, writeSuiteHistory } from './store.ts';
import { armsFor, makeResults } from '../../test/helpers/results.ts';
import { proxyWorkCounts } from '../../test/helpers/series.ts';

const sha = (i: number) => i.toString(16).padStart(40, 'a');

function resultsAt(i: number, cpuUs = 50) {
  const results = makeResults({
    commit: sha(i),
    workloads: [{ id: 'select', arms: armsFor(5, { tps: 1000, seed: i }) }],
  });
  results.startedAt = new Date(Date.parse('2026-11-01T00:00:00Z') + i * 3600_000).toISOString();
  for (const s of results.workloads[0]!.samples) if (s.proxy) s.proxy.cpuUsPerQuery = cpuUs + s.round;
  return results;
}

test('a point summarises every arm and metric of every workload', () => {
  const point = pointFromResults(resultsAt(1));
  assert.equal(point.commit, sha(1));
  const proxy = point.workloads.select!.arms.proxy!;
  assert.equal(proxy.role, 'proxy');
  // cpuUsPerQuery 50..54 over 5 rounds.
  assert.deepEqual(proxy.metrics.cpu_us_per_query, { median: 52, n: 5, min: 50, max: 54, q1: 51, q3: 53 });
  assert.ok(proxy.metrics.tps && proxy.metrics.overhead_pct && proxy.metrics.latency_p95_ms);
  // The direct arm has no overhead against itself.
  assert.equal(point.workloads.select!.arms.direct!.metrics.overhead_pct, undefined);
  assert.match(point.environment.fingerprint, /^[0-9a-f]{12}$/);
  // Another machine, another fingerprint.
  const other = resultsAt(1);
  other.environment.cpuModel = 'Other CPU';
  assert.notEqual(pointFromResults(other).environment.fingerprint, point.environment.fingerprint);
});

test('a metric the store has never seen needs no format change', () => {
  const point = pointFromResults(resultsAt(1));
  point.workloads.select!.arms.proxy!.metrics.instructions_per_query = {
    median: 41_000,
    n: 3,
    min: 40_990,
    max: 41_010,
    q1: 40_995,
    q3: 41_005,
  };
  assert.deepEqual(HistoryPointSchema.parse(point), point);
  point.workloads.select!.arms.proxy!.metrics['Bad Name'] = point.workloads.select!.arms.proxy!.metrics.tps!;
  assert.throws(() => HistoryPointSchema.parse(point), /expected a metric name/);
});

test("a work-only run's counts are recorded, and valgrind is part of the fingerprint", () => {
  const results = resultsAt(1);
  const workload = results.workloads[0]!;
  // A run with --measure work: counts per window, no timed rounds.
  workload.samples = [];
  workload.work = proxyWorkCounts(41_000);
  const point = pointFromResults(results);
  const proxy = point.workloads.select!.arms.proxy!.metrics;
  assert.equal(proxy.instructions_per_query?.n, 3);
  assert.ok(Math.abs(proxy.instructions_per_query!.median - 41_000) < 1);
  assert.equal(proxy.tps, undefined, 'no timed samples, no TPS');
  const other = resultsAt(1);
  other.environment.valgrindVersion = 'valgrind-3.20.0';
  assert.notEqual(
    pointFromResults(other).environment.fingerprint,
    pointFromResults(resultsAt(1)).environment.fingerprint,
  );
});

test('failed runs and runs without a commit are refused', () => {
  const failed = resultsAt(1);
  failed.status = 'failed';
  assert.throws(() => pointFromResults(failed), UsageError);
  const anonymous = resultsAt(1);
  anonymous.git.commit = null;
  assert.throws(() => pointFromResults(anonymous), /--commit SHA/);
  assert.equal(pointFromResults(anonymous, { commit: 'ABCDEF1234' }).commit, 'abcdef1234');
});

test('appending is idempotent, ordered, and bounded by the retention count', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'history-store-'));
  try {
    let history = await readSuiteHistory(dir, 'fixture');
    assert.equal(history.points.length, 0);
    for (let i = 1; i <= 5; i++) {
      const outcome = appendPoints(history, [pointFromResults(resultsAt(i))], 4);
      assert.equal(outcome.added, true);
      assert.equal(outcome.dropped, i === 5 ? 1 : 0);
      history = outcome.history;
    }
    assert.deepEqual(
      history.points.map((p) => p.commit),
      [2, 3, 4, 5].map(sha),
    );
    // The same run again (e.g. a retried push re-applying its append) changes nothing.
    const again = appendPoints(history, [pointFromResults(resultsAt(5))], 4);
    assert.equal(again.added, false);
    assert.deepEqual(again.history, history);
    // The same commit measured again later (a scheduled run) is a new point.
    const rerun = resultsAt(5);
    rerun.startedAt = '2026-12-01T00:00:00.000Z';
    assert.equal(appendPoints(history, [pointFromResults(rerun)], 4).added, true);
    assert.throws(() => appendPoints(history, [], 0), /retention/);

    const file = await writeSuiteHistory(dir, history);
    assert.equal(path.basename(file), 'fixture.json');
    assert.deepEqual(await readSuiteHistory(dir, 'fixture'), history);
    assert.deepEqual(await readStore(dir), [history]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a damaged or foreign history file is refused with the file and field named', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'history-store-'));
  try {
    const history = appendPoints(await readSuiteHistory(dir, 'fixture'), [
      pointFromResults(resultsAt(1)),
    ]).history;
    const file = await writeSuiteHistory(dir, history);
    const data = JSON.parse(await readFile(file, 'utf8'));
    data.points[0].commit = 'not-a-sha';
    assert.throws(
      () => parseHistory(JSON.stringify(data), file),
      /fixture\.json: .*points\[0\]\.commit: expected a commit SHA/,
    );
    assert.throws(
      () => parseHistory(JSON.stringify({ ...history, schemaVersion: 2 }), file),
      /schemaVersion 2 is not supported/,
    );
    assert.throws(() => parseHistory('{', file), /not valid JSON/);
    await writeFile(path.join(dir, 'other.json'), JSON.stringify(history));
    await assert.rejects(readStore(dir), /holds suite "fixture"; expected the file fixture\.json/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
