import type { RequestHandler } from 'express';
import type { ApiDeps } from '../deps.ts';
import { viewerOf } from '../request-guard/authenticate.ts';

/** GET /api/v1/jobs/:id — status, progress, result or error. */
export function getJob(deps: ApiDeps): RequestHandler<{ id: string }> {
  return async (req, res) => {
    res.json(await deps.jobs.get(req.params.id, viewerOf(res)));
  };
}
