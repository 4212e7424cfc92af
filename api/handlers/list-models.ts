import type { RequestHandler } from 'express';
import { unavailable } from '../../core/errors.ts';
import { REDIS_RETRY_AFTER_SECONDS } from '../../core/http/error-handler.ts';
import { readServedModels, type ServedModel, type ServedModelListing } from '../../core/model/served-models.ts';
import type { ApiDeps } from '../deps.ts';
import type { ModelLane } from '../model-lanes.ts';

/**
 * One model as listed: OpenAI's model object, with what a self-hosted deployment wants to see
 * beside it: its aliases, the workers that have it loaded, the jobs waiting for it, and the facts
 * of its file once a worker has loaded it.
 */
export type ModelObject = Partial<Omit<ServedModel, 'id' | 'loaded_at'>> & {
  id: string;
  object: 'model';
  created: number;
  owned_by: 'llm-orchestrator';
  aliases: string[];
  kind: 'generate' | 'embedding';
  workers: number;
  loaded_by: string[];
  waiting: number;
};

function toModelObject(lane: ModelLane, live: ServedModelListing | undefined, waiting: number, id: string): ModelObject {
  const { model } = lane;
  const listed = { aliases: model.aliases, kind: model.kind, waiting };
  if (!live) return { id, object: 'model', created: 0, owned_by: 'llm-orchestrator', workers: 0, loaded_by: [], ...listed };
  const { id: _id, loaded_at, ...facts } = live;
  return { id, object: 'model', created: Math.floor(loaded_at / 1000), owned_by: 'llm-orchestrator', ...facts, ...listed };
}

/** Jobs waiting for a model: ready, held by fair scheduling, or waiting out a retry's backoff. */
async function waitingIn(lane: ModelLane): Promise<number> {
  const counts = await lane.queue.getJobCounts('wait', 'prioritized', 'delayed', 'paused');
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/**
 * GET /v1/models and GET /api/v1/models, in OpenAI's list shape: `{object: 'list', data: [{id,
 * object: 'model', created, owned_by, aliases, workers, loaded_by, waiting, file, quantization,
 * size_bytes, …}]}`. With a models file, every model it lists, loaded or not (`workers: 0`, and
 * no file facts until a worker has loaded it). With MODEL alone, the model live workers serve
 * (none while no worker is up). Read from what workers publish in Redis: API processes never load models.
 */
export function listModels(deps: Pick<ApiDeps, 'redis' | 'keys' | 'config' | 'lanes'>): RequestHandler {
  return async (_req, res) => {
    const { lanes } = deps;
    let live: ServedModelListing[];
    let waiting: number[];
    try {
      [live, waiting] = await Promise.all([readServedModels(deps.redis, deps.keys, deps.config.WORKER_HEARTBEAT_TTL_MS), Promise.all(lanes.lanes.map(waitingIn))]);
    } catch {
      throw unavailable('redis_unavailable', 'the model list is unavailable: Redis does not answer', REDIS_RETRY_AFTER_SECONDS);
    }
    const data = lanes.catalogue.single
      ? live.map((model) => toModelObject(lanes.default, model, waiting[0] ?? 0, model.id))
      : lanes.lanes.map((lane, i) => toModelObject(lane, live.find((model) => model.id === lane.model.id), waiting[i] ?? 0, lane.model.id));
    res.json({ object: 'list', data });
  };
}
