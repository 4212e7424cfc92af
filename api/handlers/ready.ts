import type { RequestHandler } from 'express';
import type { ApiDeps } from '../deps.ts';

/** GET /api/ready — Redis answers and at least one worker (with its model loaded) reported recently. */
export function ready(deps: ApiDeps): RequestHandler {
  return async (_req, res) => {
    let redis = 'ok';
    let workers = 0;
    try {
      workers = await deps.redis.zcount(deps.keys.workers, Date.now() - deps.config.WORKER_HEARTBEAT_TTL_MS, '+inf');
    } catch {
      redis = 'unreachable';
    }
    const ok = redis === 'ok' && workers > 0;
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks: { redis, workers } });
  };
}
