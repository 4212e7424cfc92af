import type { Redis } from 'ioredis';
import type { Config } from '../../core/config.ts';
import { scanKeys } from '../support/stack.ts';

/** Keys of this deployment by family, as docs/redis.md lists them. */
export type KeyCensus = Record<string, number>;

const JOB_ID = '[0-9a-f-]{36}';

/**
 * The family of a key, from its name. BullMQ's keys are `<prefix>:<queue>:<suffix>`: a job's hash
 * (its id), its lock, deduplication keys, and the queue's own structures (wait list, sets, meta,
 * events, …), which are counted one family each so that a growing structure shows by name.
 */
export function keyFamily(key: string, config: Pick<Config, 'REDIS_PREFIX' | 'QUEUE_NAME'>): string {
  const queue = `${config.REDIS_PREFIX}:${config.QUEUE_NAME}:`;
  if (key.startsWith(queue)) {
    const rest = key.slice(queue.length);
    if (new RegExp(`^${JOB_ID}$`).test(rest)) return 'bullmq job';
    if (new RegExp(`^${JOB_ID}:lock$`).test(rest)) return 'bullmq job lock';
    if (rest.startsWith('de:')) return 'bullmq deduplication';
    return `bullmq ${rest}`;
  }
  const rest = key.slice(config.REDIS_PREFIX.length + 1);
  const [family = rest] = rest.split(':');
  return family;
}

export async function countKeyFamilies(redis: Redis, config: Pick<Config, 'REDIS_PREFIX' | 'QUEUE_NAME'>): Promise<KeyCensus> {
  const census: KeyCensus = {};
  for await (const keys of scanKeys(redis, config.REDIS_PREFIX)) {
    for (const key of keys) {
      const family = keyFamily(key, config);
      census[family] = (census[family] ?? 0) + 1;
    }
  }
  return census;
}

/** Mean `MEMORY USAGE` (bytes) of up to `sample` keys of each family. */
export async function bytesPerKey(redis: Redis, config: Pick<Config, 'REDIS_PREFIX' | 'QUEUE_NAME'>, sample = 20): Promise<Record<string, number>> {
  const samples = new Map<string, string[]>();
  for await (const keys of scanKeys(redis, config.REDIS_PREFIX)) {
    for (const key of keys) {
      const family = keyFamily(key, config);
      const list = samples.get(family) ?? [];
      if (list.length < sample) list.push(key);
      samples.set(family, list);
    }
  }
  const means: Record<string, number> = {};
  for (const [family, keys] of samples) {
    const sizes = (await Promise.all(keys.map((key) => redis.memory('USAGE', key)))).filter((n): n is number => typeof n === 'number');
    if (sizes.length > 0) means[family] = Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length);
  }
  return means;
}
