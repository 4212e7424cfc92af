import type { Request, RequestHandler } from 'express';
import { processMetrics, type Metrics } from './registry.ts';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Route label of requests no route matched: their paths are whatever clients typed, so they share one series. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Observes `llmo_http_request_duration_seconds` for every response, labelled by the route
 * pattern (`/api/v1/jobs/:id`), never by the raw path: ids and typos would explode cardinality.
 * Install it before any router.
 */
export function httpMetrics(metrics: Metrics = processMetrics()): RequestHandler {
  const histogram = metrics.m.httpRequestDuration;
  return (req, res, next) => {
    const stop = histogram.startTimer();
    const route = captureRoute(req);
    res.once('finish', () => {
      stop({ method: METHODS.has(req.method) ? req.method : 'other', route: route(), status_code: String(res.statusCode) });
    });
    next();
  };
}

/**
 * Express sets `req.route` when a route matches, while `req.baseUrl` still names the router's
 * mount point; by the time an error handler answers, the mount point is gone. So the full
 * pattern is taken at that moment. Requests no route matched are labelled by the deepest mount
 * point they entered (`/admin/queues/*` for Bull Board's assets), a bounded set.
 */
function captureRoute(req: Request): () => string {
  let pattern: string | undefined;
  let mount = '';
  intercept(req, 'route', (value: { path?: unknown } | undefined) => {
    if (value && typeof value.path === 'string') pattern = `${req.baseUrl}${value.path}`;
  });
  intercept(req, 'baseUrl', (value: unknown) => {
    if (typeof value === 'string' && value.length > mount.length) mount = value;
  });
  return () => pattern ?? (mount ? `${mount}/*` : UNMATCHED_ROUTE);
}

/** Turns a plain property Express assigns into one that reports each assignment. */
function intercept<T>(req: Request, property: 'route' | 'baseUrl', onSet: (value: T) => void): void {
  let current = (req as unknown as Record<string, unknown>)[property];
  Object.defineProperty(req, property, {
    configurable: true,
    enumerable: true,
    get: () => current,
    set(value: T) {
      current = value;
      onSet(value);
    },
  });
}

/** `GET /metrics`: the Prometheus exposition of this process. */
export function metricsHandler(metrics: Metrics = processMetrics()): RequestHandler {
  return (_req, res, next) => {
    metrics.render().then((text) => {
      res.setHeader('Content-Type', metrics.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.send(text);
    }, next);
  };
}
