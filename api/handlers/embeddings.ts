import type { RequestHandler } from 'express';
import { failureAppError } from '../../core/contract/failure.ts';
import { embeddingRequestSchema, type EncodingFormat, type GenerationResult, type Timings, type Usage } from '../../core/job-contract.ts';
import type { ApiDeps } from '../deps.ts';
import { embeddingCancelled, embeddingSubmission, finishedEmbedding, vectorsIn } from '../embedding-submission.ts';
import { SYSTEM_VIEWER } from '../job-service.ts';
import { jobLinks } from '../job-view.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import { limitsOf } from '../submission.ts';
import { parseBody } from '../validate.ts';

/** The native answer: the vectors, in input order, and what produced them. */
export interface EmbeddingsAnswer {
  /** The job (GET /api/v1/jobs/{id}); `c-…` when answered from the cache. */
  id: string;
  model: string;
  embeddings: number[][] | string[];
  dimensions: number;
  usage: Usage;
  cached: boolean;
  timings: Timings;
}

function answer(id: string, result: GenerationResult, format: EncodingFormat): EmbeddingsAnswer {
  const embedding = finishedEmbedding(result);
  const { model, dimensions, usage, cached, timings } = embedding;
  return { id, model, embeddings: vectorsIn(embedding, format), dimensions, usage, cached, timings };
}

/**
 * POST /api/v1/embeddings — the vectors of a text or of several, computed in one job, waited for
 * as POST /api/v1/generate waits: up to `timeout_ms`, then 202 with the job to poll.
 */
export function createEmbeddings(deps: ApiDeps): RequestHandler {
  const schema = embeddingRequestSchema(limitsOf(deps.config));
  return async (req, res) => {
    const { input, encoding_format: format, priority, cache, timeout_ms: timeoutMs, model: named } = parseBody(schema, req.body);
    const inputs = typeof input === 'string' ? [input] : input;
    const model = deps.lanes.resolve(named, 'embed');
    const outcome = await deps.jobs.submit(embeddingSubmission({ inputs, priority, cache, model }, viewerOf(res).tenant));
    const result = outcome.kind === 'cached' ? outcome.result : await deps.jobs.resultWithin(outcome.job, timeoutMs);
    if (result) {
      res.json(answer(outcome.id, result, format));
      return;
    }
    const view = await deps.jobs.get(outcome.id, SYSTEM_VIEWER);
    if (view.result) {
      res.json(answer(view.id, view.result, format));
      return;
    }
    if (view.status === 'failed' && view.error) throw failureAppError(view.error);
    // Removed by a cancel while it waited: no result, and never one.
    if (view.status === 'cancelled') throw embeddingCancelled();
    res.status(202).location(jobLinks(view.id).self).json({ id: view.id, status: view.status, links: jobLinks(view.id) });
  };
}
