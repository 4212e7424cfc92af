import express, { type Router } from 'express';
import type { ApiDeps } from '../deps.ts';
import { createChatCompletion } from './chat-completions.ts';
import { createCompletion } from './completions.ts';
import { createResponse } from './create-response.ts';
import { createEmbeddings } from './embeddings.ts';
import { JobHolders } from './job-holders.ts';

/**
 * The OpenAI-compatible endpoints, mounted at `/v1` (docs/openai.md). Their errors are answered in
 * OpenAI's shape by the error handler `finishApp` installs for `/v1`.
 */
export function openAiRouter(deps: ApiDeps): Router {
  const { config } = deps;
  const holders = new JobHolders({
    redis: deps.redis,
    keys: deps.keys,
    jobs: deps.jobs,
    logger: deps.logger,
    enabled: config.CANCEL_ON_DISCONNECT,
    ttlSeconds: config.STREAM_TTL_SECONDS,
  });
  const openAiDeps = {
    config,
    jobs: deps.jobs,
    streams: deps.streams,
    jobStates: deps.jobStates,
    streamCap: deps.streamCap,
    logger: deps.logger,
    holders,
    lanes: deps.lanes,
    // Live: workers publish the model they serve.
    get modelId() {
      return deps.modelId;
    },
    get embeddingSize() {
      return deps.embeddingSize;
    },
  };
  // Bodies arrive parsed: the request guard in front of every route has read them.
  const router = express.Router();
  router.post('/completions', createCompletion(openAiDeps));
  router.post('/chat/completions', createChatCompletion(openAiDeps));
  router.post('/responses', createResponse(openAiDeps));
  router.post('/embeddings', createEmbeddings(openAiDeps));
  return router;
}
