import type { Config } from '../../core/config.ts';
import { BOARD_PATH } from '../../core/http/paths.ts';

/**
 * Paths that need no API key, and why. Everything else an API process serves (including paths it
 * does not know, which then answer 401 rather than revealing what exists) needs one when keys are
 * configured. Express matches routes case-insensitively and ignores one trailing slash, so paths
 * are compared the same way.
 */
const OPEN_PATHS = new Set([
  // Liveness and readiness probes of load balancers and orchestrators, which carry no key.
  '/api/health',
  '/api/ready',
  // The API description is public: it is the same document the repository ships.
  '/api/openapi.json',
  '/api/docs',
  // Bull Board, when mounted in the API process, asks for its own credentials (DASHBOARD_USER/PASSWORD).
  BOARD_PATH,
]);

/** Subtrees that are public (static assets of the docs page) or guarded by credentials of their own. */
const OPEN_PREFIXES = [
  '/api/docs/',
  `${BOARD_PATH}/`,
];

/** A path as Express matches it: case-insensitively, one trailing slash ignored. */
export const normalizePath = (path: string) => {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
};

export function isOpenPath(path: string, config: Pick<Config, 'METRICS_REQUIRE_KEY'>): boolean {
  const normalized = normalizePath(path);
  if (normalized === '/metrics') return !config.METRICS_REQUIRE_KEY;
  if (OPEN_PATHS.has(normalized)) return true;
  return OPEN_PREFIXES.some((prefix) => normalized.startsWith(prefix));
}
