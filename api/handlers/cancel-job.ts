import type { RequestHandler } from 'express';
import type { ApiDeps } from '../deps.ts';
import { viewerOf } from '../request-guard/authenticate.ts';

/** How long DELETE waits for an active job to stop, so the answer usually shows the final state. */
const CANCEL_WAIT_MS = 5000;

/** DELETE /api/v1/jobs/:id — remove a waiting job, stop an active one; 409 when already finished. */
export function cancelJob(deps: ApiDeps): RequestHandler<{ id: string }> {
  return async (req, res) => {
    const { view, done } = await deps.jobs.cancel(req.params.id, CANCEL_WAIT_MS, viewerOf(res));
    res.status(done ? 200 : 202).json(view);
  };
}
