import type { RequestHandler } from 'express';
import { unavailable } from '../../core/errors.ts';
import { REDIS_RETRY_AFTER_SECONDS } from '../../core/http/error-handler.ts';
import { readServedModels, type ServedModelListing } from '../../core/model/served-models.ts';
import type { ApiDeps } from '../deps.ts';

/** OpenAI's model object, with the facts a self-hosted deployment wants to see beside it. */
function toModelObject(model: ServedModelListing) {
  const { id, loaded_at, ...facts } = model;
  return { id, object: 'model' as const, created: Math.floor(loaded_at / 1000), owned_by: 'llm-orchestrator', ...facts };
}

/**
 * GET /v1/models and GET /api/v1/models — the models live workers serve, in OpenAI's list shape:
 * `{object: 'list', data: [{id, object: 'model', created, owned_by, file, architecture,
 * parameters, quantization, context_size, size_bytes, random_weights, workers, …}]}`. Empty while
 * no worker is up. Read from what workers publish in Redis: API processes never load the model.
 */
export function listModels(deps: Pick<ApiDeps, 'redis' | 'keys' | 'config'>): RequestHandler {
  return async (_req, res) => {
    let models: ServedModelListing[];
    try {
      models = await readServedModels(deps.redis, deps.keys, deps.config.WORKER_HEARTBEAT_TTL_MS);
    } catch {
      throw unavailable('redis_unavailable', 'the model list is unavailable: Redis does not answer', REDIS_RETRY_AFTER_SECONDS);
    }
    res.json({ object: 'list', data: models.map(toModelObject) });
  };
}
