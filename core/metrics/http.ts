import diagnosticsChannel from 'node:diagnostics_channel';
import type { Request, RequestHandler } from 'express';
import { processMetrics, type Metrics } from './registry.ts';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Route label of requests no route matched: their paths are whatever clients typed, so they share one series. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Observes `llmo_http_request_duration_seconds` for every response, labelled by the route
 * pattern (`/api/v1/jobs/:id`), never by the raw path: ids, typos and casing would explode
 * cardinality. Install it before any router.
 */
export function httpMetrics(metrics: Metrics = processMetrics()): RequestHandler {
  listenToRouters();
  const histogram = metrics.m.httpRequestDuration;
  return (req, res, next) => {
    const stop = histogram.startTimer();
    const trace = new RouteTrace();
    traces.set(req, trace);
    intercept(req, 'route', (value: { path?: unknown } | undefined) => trace.routeMatched(req.baseUrl, value?.path));
    intercept(req, 'baseUrl', (value: unknown, previous: unknown) => trace.baseUrlChanged(previous, value));
    res.once('finish', () => {
      stop({ method: METHODS.has(req.method) ? req.method : 'other', route: trace.label(), status_code: String(res.statusCode) });
    });
    next();
  };
}

/**
 * Which pattern a request matched, pieced together as Express routes it. `req.route.path` is the
 * route's own pattern, but `req.baseUrl` (where its router is mounted) is the caller's text: Express
 * matches case-insensitively, so `/API/v1` and `/api/V1` would each make a series. The mount's
 * pattern comes from the router's diagnostics channel instead, which reports, right after the
 * router has moved `baseUrl` into a mount point, the pattern that layer was registered with.
 * Requests no route matched are labelled by the deepest mount point they entered
 * (`/admin/queues/*` for Bull Board's assets): a set as small as the app's own mount points.
 */
class RouteTrace {
  /** Mount points entered so far: the caller's text of each → its full pattern ('' is the app itself). */
  private readonly mounts = new Map<string, string>([['', '']]);
  /** A mount point `baseUrl` just moved into, whose pattern the next traced layer carries. */
  private entering: { text: string; parent: string } | undefined;
  private deepest = { text: '', pattern: '' };
  private route: string | undefined;

  baseUrlChanged(previous: unknown, next: unknown): void {
    this.entering = undefined;
    if (typeof previous !== 'string' || typeof next !== 'string') return;
    const parent = this.mounts.get(previous);
    // Leaving a mount point shortens baseUrl; only entering one extends it.
    if (parent !== undefined && next.length > previous.length && next.startsWith(previous)) this.entering = { text: next, parent };
  }

  layerStarted(baseUrl: string, pattern: unknown): void {
    const entering = this.entering;
    this.entering = undefined;
    if (!entering || entering.text !== baseUrl || !isPattern(pattern)) return;
    const full = `${entering.parent}${String(pattern).replace(/\/+$/, '')}`;
    this.mounts.set(baseUrl, full);
    if (baseUrl.length > this.deepest.text.length) this.deepest = { text: baseUrl, pattern: full };
  }

  routeMatched(baseUrl: string, path: unknown): void {
    const mount = this.mounts.get(baseUrl);
    // A mount whose pattern is unknown must not lend the route its text: the label stays as it was.
    if (mount !== undefined && isPattern(path)) this.route = `${mount}${String(path)}`;
  }

  label(): string {
    return this.route ?? (this.deepest.pattern ? `${this.deepest.pattern}/*` : UNMATCHED_ROUTE);
  }
}

/** Patterns come from code (strings, regular expressions, arrays of them), never from a request. */
const isPattern = (value: unknown): boolean => typeof value === 'string' || value instanceof RegExp || Array.isArray(value);

const traces = new WeakMap<object, RouteTrace>();

let listening = false;

/**
 * Subscribes (once per process) to `express.router.request`, the tracing channel of Express's
 * router: its `start` event names the pattern of every layer a request enters.
 */
function listenToRouters(): void {
  if (listening) return;
  listening = true;
  diagnosticsChannel.subscribe('tracing:express.router.request:start', (message) => {
    const context = message as { req?: Request; route?: unknown };
    const trace = context.req && traces.get(context.req);
    if (trace) trace.layerStarted(context.req!.baseUrl, context.route);
  });
}

/** Turns a plain property Express assigns into one that reports each assignment. */
function intercept<T>(req: Request, property: 'route' | 'baseUrl', onSet: (value: T, previous: unknown) => void): void {
  let current = (req as unknown as Record<string, unknown>)[property];
  Object.defineProperty(req, property, {
    configurable: true,
    enumerable: true,
    get: () => current,
    set(value: T) {
      const previous = current;
      current = value;
      onSet(value, previous);
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
