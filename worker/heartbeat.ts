import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/keys.ts';
import { publishServedModels, withdrawServedModels, type ServedModel } from '../core/model/served-models.ts';

/** Longest time between beats; a short WORKER_HEARTBEAT_TTL_MS makes them more frequent. */
const HEARTBEAT_MS = 5000;

export interface HeartbeatOptions {
  redis: Redis;
  keys: RedisKeys;
  workerId: string;
  /** The models this worker has loaded now, read at each beat. */
  served: () => readonly ServedModel[];
  /** WORKER_HEARTBEAT_TTL_MS: a worker silent for longer no longer counts as alive. */
  ttlMs: number;
}

export interface Heartbeat {
  /** No more beats; the entries stay until `withdraw`, so the worker still counts while it drains. */
  stop(): void;
  /** Beats now: a model just loaded is listed at once. */
  beat(): Promise<void>;
  /** Removes the entry of a model this worker unloaded. */
  forget(modelId: string): Promise<void>;
  /** Removes this worker from the registry and its model from the served models. */
  withdraw(): Promise<void>;
}

/**
 * Keeps this worker in the worker registry (`/api/ready` needs a live one) and its model among the
 * served models (API processes list and key their cache by it). The first beat is done when this
 * resolves; failed beats are skipped, as the next one repeats them.
 */
export async function startHeartbeat({ redis, keys, workerId, served, ttlMs }: HeartbeatOptions): Promise<Heartbeat> {
  /** Every model id this worker has listed, so that withdrawing leaves none behind. */
  const listed = new Set<string>();
  const beat = async () => {
    const models = served();
    for (const model of models) listed.add(model.id);
    await redis
      .zadd(keys.workers, Date.now(), workerId)
      // Registry entries of workers that died without withdrawing, long after they stopped counting.
      .then(() => redis.zremrangebyscore(keys.workers, 0, Date.now() - 10 * ttlMs))
      .then(() => publishServedModels(redis, keys, workerId, models))
      .catch(() => undefined);
  };
  await beat();
  const timer = setInterval(() => void beat(), Math.min(HEARTBEAT_MS, ttlMs / 3));
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    beat,
    async forget(modelId) {
      await withdrawServedModels(redis, keys, workerId, [modelId]).catch(() => undefined);
    },
    async withdraw() {
      await redis.zrem(keys.workers, workerId).catch(() => undefined);
      await withdrawServedModels(redis, keys, workerId, [...listed]).catch(() => undefined);
    },
  };
}
