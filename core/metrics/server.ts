import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { processMetrics, type Metrics } from './registry.ts';

export interface MetricsServer {
  /** The port it listens on (the one asked for, or the free one picked for `0`). */
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * A small HTTP server for processes without an HTTP API of their own (workers):
 * `GET /metrics` for Prometheus and `GET /health` for container health checks.
 */
export async function startMetricsServer(options: { port: number; host: string; metrics?: Metrics }): Promise<MetricsServer> {
  const metrics = options.metrics ?? processMetrics();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'application/json' }).end(error('method_not_allowed', 'use GET'));
      return;
    }
    if (path === '/health') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(error('route_not_found', 'try /metrics or /health'));
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' }).end(text),
      () => res.writeHead(500, { 'Content-Type': 'application/json' }).end(error('internal_error', 'internal error')),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const error = (code: string, message: string) => JSON.stringify({ error: { code, message } });
