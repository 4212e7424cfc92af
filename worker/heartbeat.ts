import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/keys.ts';
import { publishServedModel, withdrawServedModel, type ServedModel } from '../core/model/served-models.ts';

/** Longest time between beats; a short WORKER_HEARTBEAT_TTL_MS makes them more frequent. */
const HEARTBEAT_MS = 5000;

export interface HeartbeatOptions {
  redis: Redis;
  keys: RedisKeys;
  workerId: string;
  served: ServedModel;
  /** WORKER_HEARTBEAT_TTL_MS: a worker silent for longer no longer counts as alive. */
  ttlMs: number;
}

export interface Heartbeat {
  /** No more beats; the entries stay until `withdraw`, so the worker still counts while it drains. */
  stop(): void;
  /** Removes this worker from the registry and its model from the served models. */
  withdraw(): Promise<void>;
}

/**
 * Keeps this worker in the worker registry (`/api/ready` needs a live one) and its model among the
 * served models (API processes list and key their cache by it). The first beat is done when this
 * resolves; failed beats are skipped, as the next one repeats them.
 */
export async function startHeartbeat({ redis, keys, workerId, served, ttlMs }: HeartbeatOptions): Promise<Heartbeat> {
  const beat = () =>
    redis
      .zadd(keys.workers, Date.now(), workerId)
      // Registry entries of workers that died without withdrawing, long after they stopped counting.
      .then(() => redis.zremrangebyscore(keys.workers, 0, Date.now() - 10 * ttlMs))
      .then(() => publishServedModel(redis, keys, workerId, served))
      .catch(() => undefined);
  await beat();
  const timer = setInterval(beat, Math.min(HEARTBEAT_MS, ttlMs / 3));
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    async withdraw() {
      await redis.zrem(keys.workers, workerId).catch(() => undefined);
      await withdrawServedModel(redis, keys, workerId).catch(() => undefined);
    },
  };
}
