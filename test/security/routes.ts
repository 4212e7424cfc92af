import type { Express } from 'express';

export interface MountedRoute {
  method: string;
  /** The route's path pattern as mounted, e.g. `/api/v1/jobs/:id`. */
  pattern: string;
  /** A concrete path that the pattern matches. */
  path: string;
}

interface Layer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

export const SAMPLE_ID = '00000000-0000-4000-8000-000000000000';

/** A path that a pattern matches: parameters get a sample id, wildcards a segment, optional parts drop. */
function sample(pattern: string): string {
  return pattern
    .replace(/\{[^{}]*\}/g, '')
    .replace(/:[A-Za-z0-9_]+/g, SAMPLE_ID)
    .replace(/\*[A-Za-z0-9_]*/g, 'x');
}

const joinPaths = (base: string, path: string) => `${base.replace(/\/$/, '')}${path.startsWith('/') ? path : `/${path}`}`;

/**
 * Every route an Express 5 app serves, read from its router (nested routers included), so a test
 * that walks them covers routes added later without being told about them.
 */
export function mountedRoutes(app: Express): MountedRoute[] {
  const routes: MountedRoute[] = [];
  const walk = (stack: Layer[], base: string) => {
    for (const layer of stack) {
      if (layer.route && typeof layer.route.path === 'string') {
        const pattern = joinPaths(base, layer.route.path);
        for (const [method, enabled] of Object.entries(layer.route.methods)) {
          if (enabled && method !== '_all') routes.push({ method: method.toUpperCase(), pattern, path: sample(pattern) });
        }
      } else if (layer.handle?.stack && typeof layer.rawPath === 'string') {
        walk(layer.handle.stack, layer.rawPath === '/' ? base : joinPaths(base, layer.rawPath));
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return routes;
}
