import type { RequestHandler } from 'express';
import { failureAppError } from '../../core/contract/failure.ts';
import { generateWaitRequestSchema } from '../../core/job-contract.ts';
import type { ApiDeps } from '../deps.ts';
import { SYSTEM_VIEWER } from '../job-service.ts';
import { jobLinks } from '../job-view.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import { limitsOf, toSubmission } from '../submission.ts';
import { parseBody } from '../validate.ts';

/** POST /api/v1/generate — wait up to `timeout_ms` for the result; 202 with the job to poll otherwise. */
export function generate(deps: ApiDeps): RequestHandler {
  const schema = generateWaitRequestSchema(limitsOf(deps.config));
  return async (req, res) => {
    const { timeout_ms: timeoutMs, ...request } = parseBody(schema, req.body);
    const outcome = await deps.jobs.submit(toSubmission(request, viewerOf(res).tenant, deps.lanes));
    if (outcome.kind === 'cached') {
      res.json({ id: outcome.id, ...outcome.result });
      return;
    }
    const result = await deps.jobs.resultWithin(outcome.job, timeoutMs);
    if (result) {
      res.json({ id: outcome.id, ...result });
      return;
    }
    const view = await deps.jobs.get(outcome.id, SYSTEM_VIEWER);
    if (view.result) {
      res.json({ id: view.id, ...view.result });
      return;
    }
    if (view.status === 'failed' && view.error) {
      throw failureAppError(view.error);
    }
    res.status(202).location(jobLinks(view.id).self).json({ id: view.id, status: view.status, links: jobLinks(view.id) });
  };
}
