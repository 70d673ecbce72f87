import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { AthenaMetrics } from './metrics.ts';
import { parseExposition, sampleValue } from './exposition.ts';
import { METRICS_CONTENT_TYPE, startMetricsServer } from './httpServer.ts';

interface Reply {
  status: number;
  contentType: string | undefined;
  body: string;
}

function get(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

test('GET /metrics, /health (200 and 503), 404 and 405', async () => {
  const metrics = new AthenaMetrics();
  metrics.recordQuery('select', 0.001, false);
  metrics.connectionOpened();
  let healthy = true;
  const server = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    metrics,
    health: () => ({ ok: healthy, detail: { backends: healthy ? 1 : 0 } }),
  });
  try {
    assert.ok(server.port > 0);
    const scrape = await get(server.port, '/metrics');
    assert.equal(scrape.status, 200);
    assert.equal(scrape.contentType, METRICS_CONTENT_TYPE);
    assert.match(scrape.contentType ?? '', /^text\/plain; version=0\.0\.4/);
    const parsed = parseExposition(scrape.body);
    assert.equal(sampleValue(parsed, 'athena_queries_total', { type: 'select' }), 1);
    assert.equal(sampleValue(parsed, 'athena_connections_active', {}), 1);

    const withQuery = await get(server.port, '/metrics?x=1');
    assert.equal(withQuery.status, 200);

    const ok = await get(server.port, '/health');
    assert.equal(ok.status, 200);
    assert.match(ok.contentType ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(ok.body), { backends: 1, status: 'ok' });

    healthy = false;
    const down = await get(server.port, '/health');
    assert.equal(down.status, 503);
    assert.deepEqual(JSON.parse(down.body), { backends: 0, status: 'unavailable' });

    assert.equal((await get(server.port, '/')).status, 404);
    assert.equal((await get(server.port, '/metricsx')).status, 404);
    assert.equal((await get(server.port, '/metrics', 'POST')).status, 405);
    const head = await get(server.port, '/metrics', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  } finally {
    await server.close();
  }
  await assert.rejects(get(server.port, '/metrics'), /ECONNREFUSED/);
});

test('a health callback that throws gives 500, and the server keeps serving', async () => {
  const server = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    metrics: new AthenaMetrics(),
    health: () => {
      throw new Error('boom');
    },
  });
  try {
    const reply = await get(server.port, '/health');
    assert.equal(reply.status, 500);
    assert.match(reply.body, /boom/);
    assert.equal((await get(server.port, '/metrics')).status, 200);
  } finally {
    await server.close();
  }
});

test('a port in use is a startup error, not a crash', async () => {
  const first = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    metrics: new AthenaMetrics(),
    health: () => ({ ok: true, detail: {} }),
  });
  try {
    await assert.rejects(
      startMetricsServer({
        host: '127.0.0.1',
        port: first.port,
        metrics: new AthenaMetrics(),
        health: () => ({ ok: true, detail: {} }),
      }),
      /EADDRINUSE/,
    );
  } finally {
    await first.close();
  }
});
