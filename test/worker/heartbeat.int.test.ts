import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../core/keys.ts';
import type { ServedModel } from '../../core/model/served-models.ts';
import { startHeartbeat } from '../../worker/heartbeat.ts';
import { deletePrefix, redisUrl } from '../support/stack.ts';

const served: ServedModel = {
  id: 'stories260K:Q8_0',
  file: 'stories260K.gguf',
  architecture: 'llama',
  parameters: 260_000,
  quantization: 'Q8_0',
  file_type: 7,
  context_size: 512,
  train_context_size: 512,
  size_bytes: 1_000_000,
  random_weights: false,
  has_chat_template: false,
  load_ms: 10,
  loaded_at: Date.now(),
};

describe('a worker heartbeat (real Redis)', () => {
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  const keys = redisKeys(prefix);
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await redis.quit();
  });

  it('registers the worker and publishes its model before it resolves', async () => {
    const heartbeat = await startHeartbeat({ redis, keys, workerId: 'w1', served: () => [served], ttlMs: 15_000 });
    heartbeat.stop();
    expect(Number(await redis.zscore(keys.workers, 'w1'))).toBeGreaterThan(Date.now() - 5000);
    expect(JSON.parse((await redis.hget(keys.models, `w1#${served.id}`)) ?? '{}')).toMatchObject({ id: served.id, file: served.file });
  });

  it('drops registry entries of workers silent for ten heartbeat lifetimes', async () => {
    await redis.zadd(keys.workers, Date.now() - 11 * 1000, 'dead');
    await redis.zadd(keys.workers, Date.now() - 5 * 1000, 'late');
    const heartbeat = await startHeartbeat({ redis, keys, workerId: 'w2', served: () => [served], ttlMs: 1000 });
    heartbeat.stop();
    expect(await redis.zscore(keys.workers, 'dead')).toBeNull();
    expect(await redis.zscore(keys.workers, 'late')).not.toBeNull();
  });

  it('beats again within a third of the heartbeat lifetime', async () => {
    const heartbeat = await startHeartbeat({ redis, keys, workerId: 'w3', served: () => [served], ttlMs: 1500 });
    const first = Number(await redis.zscore(keys.workers, 'w3'));
    await new Promise((resolve) => setTimeout(resolve, 700));
    heartbeat.stop();
    expect(Number(await redis.zscore(keys.workers, 'w3'))).toBeGreaterThan(first);
  });

  it('removes the worker and its model when withdrawn', async () => {
    const heartbeat = await startHeartbeat({ redis, keys, workerId: 'w4', served: () => [served], ttlMs: 15_000 });
    heartbeat.stop();
    await heartbeat.withdraw();
    expect(await redis.zscore(keys.workers, 'w4')).toBeNull();
    expect(Object.keys(await redis.hgetall(keys.models)).filter((field) => field.startsWith('w4#'))).toEqual([]);
  });

  it('lists each loaded model under its own field, and forgets one that was unloaded', async () => {
    const other = { ...served, id: 'other-model' };
    let loaded = [served, other];
    const heartbeat = await startHeartbeat({ redis, keys, workerId: 'w5', served: () => loaded, ttlMs: 15_000 });
    heartbeat.stop();
    expect(Object.keys(await redis.hgetall(keys.models)).filter((f) => f.startsWith('w5#')).sort()).toEqual([`w5#${other.id}`, `w5#${served.id}`].sort());
    loaded = [served];
    await heartbeat.forget(other.id);
    await heartbeat.beat();
    expect(Object.keys(await redis.hgetall(keys.models)).filter((f) => f.startsWith('w5#'))).toEqual([`w5#${served.id}`]);
    await heartbeat.withdraw();
    expect(Object.keys(await redis.hgetall(keys.models)).filter((f) => f.startsWith('w5#'))).toEqual([]);
  });
});
