import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../util/errors.ts';
import {
  baselineFromResults,
  baselineRounds,
  loadBaseline,
  writeBaseline,
  environmentDifferences,
} from './baseline.ts';
import { armsFor, makeResults, BASE_ENVIRONMENT } from '../../test/helpers/results.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'verdict-baseline-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('baselineFromResults keeps every arm, metric and sample with medians', () => {
  const results = makeResults({ workloads: [{ id: 'rw', arms: armsFor(3, { tps: 1000 }) }] });
  const b = baselineFromResults(results, { commit: 'abc123' });
  assert.equal(b.schemaVersion, 1);
  assert.equal(b.commit, 'abc123');
  assert.equal(b.date, results.startedAt);
  const proxy = b.workloads[0]!.arms.proxy!;
  assert.deepEqual(
    proxy.metrics.tps!.samples,
    results.workloads[0]!.samples.filter((s) => s.arm === 'proxy').map((s) => s.metrics.tps),
  );
  const sorted = [...proxy.metrics.tps!.samples].sort((x, y) => x - y);
  assert.equal(proxy.metrics.tps!.median, sorted[1]);
  assert.equal(proxy.metrics.overhead_pct!.samples.length, 3);
  assert.equal(proxy.cpuRelativeToDirect!.samples.length, 3);
  const direct = b.workloads[0]!.arms.direct!;
  assert.equal(direct.metrics.overhead_pct, undefined);
  assert.equal(direct.metrics.cpu_us_per_query, undefined); // no proxy process on the direct arm
  assert.equal(baselineRounds(b), 3);
});

test('a failed run cannot become a baseline', () => {
  const results = {
    ...makeResults({ workloads: [{ id: 'rw', arms: armsFor(3, { tps: 1000 }) }] }),
    status: 'failed' as const,
    failure: 'proxy died',
  };
  assert.throws(
    () => baselineFromResults(results),
    (e: unknown) => e instanceof UsageError && /failed run \(proxy died\)/.test(e.message),
  );
});

test('write then load round-trips', async () => {
  const b = baselineFromResults(makeResults({ workloads: [{ id: 'rw', arms: armsFor(4, { tps: 900 }) }] }));
  const file = path.join(dir, 'sub', 'b.json');
  await writeBaseline(file, b);
  assert.deepEqual(await loadBaseline(file), b);
  assert.ok((await readFile(file, 'utf8')).endsWith('}\n'));
});

test('malformed, outdated and incomplete files: UsageError naming the file and the field', async () => {
  const good = JSON.parse(
    JSON.stringify(
      baselineFromResults(makeResults({ workloads: [{ id: 'rw', arms: armsFor(3, { tps: 900 }) }] })),
    ),
  );
  const cases: { name: string; content: string; match: RegExp }[] = [
    { name: 'not-json.json', content: '{"schemaVersion": 1,', match: /not-json\.json: not valid JSON/ },
    { name: 'array.json', content: '[]', match: /array\.json: expected a JSON object/ },
    {
      name: 'old.json',
      content: JSON.stringify({ ...good, schemaVersion: 0 }),
      match:
        /old\.json: schemaVersion 0 is not supported \(expected 1\); regenerate it with `athena-bench baseline/,
    },
    {
      name: 'noversion.json',
      content: JSON.stringify({ ...good, schemaVersion: undefined }),
      match: /noversion\.json: schemaVersion undefined is not supported/,
    },
    {
      name: 'missing-commit.json',
      content: JSON.stringify({ ...good, commit: undefined }),
      match: /missing-commit\.json: invalid baseline: commit: /,
    },
    {
      name: 'bad-samples.json',
      content: JSON.stringify({
        ...good,
        workloads: [
          {
            ...good.workloads[0],
            arms: { proxy: { role: 'proxy', metrics: { tps: { samples: 'fast', median: 1 } } } },
          },
        ],
      }),
      match: /bad-samples\.json: invalid baseline: workloads\[0\]\.arms\.proxy\.metrics\.tps\.samples: /,
    },
  ];
  for (const c of cases) {
    const file = path.join(dir, c.name);
    await writeFile(file, c.content);
    await assert.rejects(
      loadBaseline(file),
      (e: unknown) => e instanceof UsageError && c.match.test(e.message),
      c.name,
    );
  }
  await assert.rejects(
    loadBaseline(path.join(dir, 'absent.json')),
    /absent\.json: cannot read the baseline file/,
  );
});

test('environment differences: CPU, cores, MySQL and driver versions; a missing driver is not a difference', () => {
  assert.deepEqual(
    environmentDifferences(BASE_ENVIRONMENT, { ...BASE_ENVIRONMENT, kernel: 'other', memoryBytes: 1 }),
    [],
  );
  assert.deepEqual(
    environmentDifferences(BASE_ENVIRONMENT, {
      ...BASE_ENVIRONMENT,
      mysqlVersion: '8.0.40',
      sysbenchVersion: '1.1.0',
    }).map((d) => d.field),
    ['mysqlVersion', 'sysbenchVersion'],
  );
  assert.deepEqual(
    environmentDifferences(BASE_ENVIRONMENT, { ...BASE_ENVIRONMENT, sysbenchVersion: null }),
    [],
  );
});
