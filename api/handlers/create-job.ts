import type { RequestHandler } from 'express';
import { generationRequestSchema } from '../../core/job-contract.ts';
import type { ApiDeps } from '../deps.ts';
import { jobLinks } from '../job-view.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import { limitsOf, toSubmission } from '../submission.ts';
import { parseBody } from '../validate.ts';

/** POST /api/v1/jobs — enqueue (or answer from the cache) and return at once. */
export function createJob(deps: ApiDeps): RequestHandler {
  const schema = generationRequestSchema(limitsOf(deps.config));
  return async (req, res) => {
    const request = parseBody(schema, req.body);
    const outcome = await deps.jobs.submit(toSubmission(request, viewerOf(res).tenant, deps.lanes));
    if (outcome.kind === 'cached') {
      res.status(200).json({ id: outcome.id, status: 'completed', result: outcome.result, links: jobLinks(outcome.id) });
      return;
    }
    res.status(202).location(jobLinks(outcome.id).self).json({ id: outcome.id, status: 'waiting', links: jobLinks(outcome.id) });
  };
}
