import type { Redis } from 'ioredis';
import { readRedisMemory, type RedisMemory } from '../redis.ts';
import { processMetrics, type Metrics } from './registry.ts';

/** Fresh enough for an alert that waits minutes, and at most one INFO per few seconds however often scrapes come. */
export const REDIS_MEMORY_MIN_INTERVAL_MS = 5000;
/** A scrape must answer even when Redis does not: a reading that takes longer leaves the series out. */
const READ_TIMEOUT_MS = 2000;

/**
 * Exports `llmo_redis_memory_used_bytes` and `llmo_redis_memory_max_bytes` from INFO memory on
 * `redis`, read when a scrape comes and the last reading is older than `minIntervalMs` (scrapes in
 * between, or at the same time, share it). A failed reading shows no series rather than stale ones.
 * Stops when the connection ends, or when the returned function is called.
 */
export function trackRedisMemory(
  redis: Redis,
  metrics: Metrics = processMetrics(),
  minIntervalMs: number = REDIS_MEMORY_MIN_INTERVAL_MS,
): () => void {
  let last: { at: number; reading: Promise<RedisMemory | undefined> } | undefined;
  const { redisMemoryUsed: used, redisMemoryMax: max } = metrics.m;
  const clear = () => {
    used.remove();
    max.remove();
  };
  const removeHook = metrics.onScrape(async () => {
    if (!last || Date.now() - last.at >= minIntervalMs) {
      last = { at: Date.now(), reading: withTimeout(readRedisMemory(redis)).catch(() => undefined) };
    }
    const memory = await last.reading;
    if (!memory) {
      clear();
      return;
    }
    used.set(memory.usedBytes);
    max.set(memory.maxBytes);
  });
  const untrack = () => {
    removeHook();
    redis.off('end', untrack);
    clear();
  };
  redis.once('end', untrack);
  return untrack;
}

async function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`INFO memory took over ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
