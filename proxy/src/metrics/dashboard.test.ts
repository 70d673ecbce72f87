import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AthenaMetrics } from './metrics.ts';
import { parseExposition } from './exposition.ts';

const dashboardPath = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'grafana',
  'athena-dashboard.json',
);

const Target = z.object({
  expr: z.string().min(1),
  refId: z.string(),
  legendFormat: z.string(),
  datasource: z.unknown(),
});
const Panel = z.object({
  id: z.number().int(),
  type: z.string(),
  title: z.string().min(1),
  gridPos: z.object({ x: z.number().int(), y: z.number().int(), w: z.number().int(), h: z.number().int() }),
  datasource: z.object({ type: z.literal('prometheus'), uid: z.literal('${datasource}') }).optional(),
  targets: z.array(Target).optional(),
});
const Dashboard = z.object({
  schemaVersion: z.number().int().min(36),
  title: z.string(),
  uid: z.string(),
  panels: z.array(Panel).min(1),
  templating: z.object({
    list: z.array(z.object({ name: z.string(), type: z.string(), query: z.unknown() }).loose()),
  }),
});

const dashboard = Dashboard.parse(JSON.parse(readFileSync(dashboardPath, 'utf8')));
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');
const targets = queryPanels.flatMap((p) => p.targets ?? []);

/** Sample names a fully populated AthenaMetrics exposes (a series for every labelled family). */
function exposedNames(): Set<string> {
  const metrics = new AthenaMetrics();
  metrics.rateLimit('acquired', 'u', 's');
  metrics.setPoolSource(() => [{ shard: 's', idle: 1, active: 1 }]);
  return new Set(parseExposition(metrics.render()).samples.map((s) => s.name));
}

function metricNamesIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:athena|process)_[a-z_]+)\b/g)].map((m) => m[1] ?? '');
}

test('the dashboard is a Grafana dashboard with a Prometheus data source variable', () => {
  assert.ok(dashboard.schemaVersion >= 36 && dashboard.schemaVersion <= 41);
  const ds = dashboard.templating.list.find((v) => v.type === 'datasource');
  assert.ok(ds, 'a datasource variable');
  assert.equal(ds.query, 'prometheus');
  for (const panel of queryPanels) {
    assert.ok(panel.datasource, `panel "${panel.title}" uses the \${datasource} variable`);
    assert.ok((panel.targets ?? []).length > 0, `panel "${panel.title}" has queries`);
  }
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
});

test('panels fit the 24-column grid and do not overlap', () => {
  const cells = new Set<string>();
  for (const { title, gridPos } of dashboard.panels) {
    assert.ok(gridPos.x >= 0 && gridPos.w > 0 && gridPos.x + gridPos.w <= 24, `${title} fits the width`);
    for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
      for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
        const cell = `${x},${y}`;
        assert.ok(!cells.has(cell), `${title} overlaps another panel at ${cell}`);
        cells.add(cell);
      }
    }
  }
});

test('every metric a query uses is one AthenaMetrics exposes', () => {
  const exposed = exposedNames();
  for (const { expr } of targets) {
    const names = metricNamesIn(expr);
    assert.ok(names.length > 0, `query uses an Athena metric: ${expr}`);
    for (const name of names) assert.ok(exposed.has(name), `${name} (in ${expr}) is not exposed by /metrics`);
  }
});

test('every metric of the issue is shown somewhere, and the latency panel has p50, p95 and p99', () => {
  const used = new Set(targets.flatMap((t) => metricNamesIn(t.expr)));
  for (const name of [
    'athena_queries_total',
    'athena_query_duration_seconds_bucket',
    'athena_query_errors_total',
    'athena_connections_active',
    'athena_connections_total',
    'athena_rate_limit_acquired_total',
    'athena_rate_limit_rejected_queue_full_total',
    'athena_rate_limit_rejected_timeout_total',
    'athena_rate_limit_rejected_qps_total',
    'athena_pool_idle_connections',
    'athena_pool_active_connections',
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
  ]) {
    assert.ok(used.has(name), `no panel shows ${name}`);
  }
  const latency = queryPanels.find((p) => /p50/.test(p.title));
  assert.ok(latency);
  const quantiles = (latency.targets ?? []).map((t) => /histogram_quantile\(([\d.]+),/.exec(t.expr)?.[1]);
  assert.deepEqual(quantiles, ['0.5', '0.95', '0.99']);
  for (const t of latency.targets ?? []) assert.match(t.expr, /sum by \(type, le\)/);
});

test('queries are balanced and legends only use labels the series carry', () => {
  const labels = new Set(['type', 'user', 'shard', 'instance', 'reason', 'phase']);
  for (const { expr, legendFormat } of targets) {
    let depth = 0;
    for (const c of expr) {
      if (c === '(' || c === '{' || c === '[') depth++;
      if (c === ')' || c === '}' || c === ']') depth--;
      assert.ok(depth >= 0, `unbalanced: ${expr}`);
    }
    assert.equal(depth, 0, `unbalanced: ${expr}`);
    for (const m of legendFormat.matchAll(/\{\{(\w+)\}\}/g)) assert.ok(labels.has(m[1] ?? ''), legendFormat);
  }
});
