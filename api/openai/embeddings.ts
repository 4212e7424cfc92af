import type { RequestHandler } from 'express';
import type { Config } from '../../core/config.ts';
import { DEFAULT_PRIORITY } from '../../core/job-contract.ts';
import { checkDimensions, embeddingSubmission, finishedEmbedding, vectorsIn } from '../embedding-submission.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import { limitsOf } from '../submission.ts';
import type { OpenAiDeps } from './deps.ts';
import { embeddingCreateRequestSchema, refuseTokenArrays, type EmbeddingList } from './embedding-schemas.ts';
import { parseOpenAiRequest } from './parse-request.ts';
import { awaitResult } from './serve-job.ts';

/**
 * POST /v1/embeddings — OpenAI's embeddings: one vector per input, all computed in one job of the
 * shared queue (priority, quotas, fair scheduling, the cache and in-flight sharing, as every job).
 * The client waits for it as for a chat completion answered whole, and leaving cancels it.
 */
export function createEmbeddings(deps: OpenAiDeps & { config: Config }): RequestHandler {
  const schema = embeddingCreateRequestSchema(limitsOf(deps.config));
  return async (req, res) => {
    refuseTokenArrays(req.body);
    const request = parseOpenAiRequest(schema, req.body);
    const model = deps.lanes.resolve(request.model, 'embed');
    const dimensions = request.dimensions ?? undefined;
    checkDimensions(dimensions, deps.lanes.embeddingSize(model));
    const inputs = typeof request.input === 'string' ? [request.input] : request.input;
    const submission = embeddingSubmission(
      { inputs, ...(dimensions === undefined ? {} : { dimensions }), priority: request.priority ?? DEFAULT_PRIORITY, cache: request.cache ?? true, model },
      viewerOf(res).tenant,
    );
    const outcome = await deps.jobs.submit(submission);
    // The job behind the answer, for GET /api/v1/jobs/{id}; answers from the cache have `c-` ids.
    res.setHeader('x-job-id', outcome.id);
    const result = outcome.kind === 'cached' ? outcome.result : await awaitResult(deps, res, outcome);
    if (!result) return;
    const embedding = finishedEmbedding(result);
    const vectors = vectorsIn(embedding, request.encoding_format ?? 'float');
    const body: EmbeddingList = {
      object: 'list',
      data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
      model: deps.lanes.shownId(model),
      usage: { prompt_tokens: embedding.usage.prompt_tokens, total_tokens: embedding.usage.prompt_tokens },
    };
    res.json(body);
  };
}
