import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AthenaMetrics } from './metrics.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port (the returned `port` says which). */
  port: number;
  metrics: AthenaMetrics;
  /** ok=false answers /health with 503 (e.g. no backend reachable); detail is included as JSON. */
  health: () => { ok: boolean; detail: Record<string, unknown> };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headOnly: boolean,
): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(headOnly ? undefined : body);
}

function handle(req: IncomingMessage, res: ServerResponse, options: MetricsServerOptions): void {
  const path = (req.url ?? '/').split('?', 1)[0];
  const known = path === '/metrics' || path === '/health';
  if (!known) {
    send(
      res,
      404,
      'text/plain; charset=utf-8',
      'not found: try /metrics or /health\n',
      req.method === 'HEAD',
    );
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
    return;
  }
  const headOnly = req.method === 'HEAD';
  try {
    if (path === '/metrics') {
      send(res, 200, METRICS_CONTENT_TYPE, options.metrics.render(), headOnly);
    } else {
      const { ok, detail } = options.health();
      const body = `${JSON.stringify({ ...detail, status: ok ? 'ok' : 'unavailable' })}\n`;
      send(res, ok ? 200 : 503, 'application/json; charset=utf-8', body, headOnly);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    send(res, 500, 'text/plain; charset=utf-8', `internal error: ${message}\n`, headOnly);
  }
}

/** Serves GET /metrics (Prometheus text 0.0.4) and GET /health (JSON); everything else is 404. */
export function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => handle(req, res, options));
  // Scrapers keep connections alive; a short idle timeout keeps a stuck one from pinning memory.
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : options.port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
