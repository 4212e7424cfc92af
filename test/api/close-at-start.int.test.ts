import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startApiService } from '../../api/api-service.ts';
import { createLogger } from '../../core/logger.ts';
import { deletePrefix, testConfig } from '../support/stack.ts';
import { Redis } from 'ioredis';

/**
 * An API process stopped just after it started (a quick restart, a rollout cancelled) closes
 * BullMQ queues, queue events and the batch coordinator's worker whose connections may still be
 * starting. That must not leave a rejection nobody handles: in a real process it is fatal.
 */
describe('an API service closed right after it started', () => {
  const prefixes: string[] = [];
  afterAll(async () => {
    const redis = new Redis(testConfig().REDIS_URL!);
    for (const prefix of prefixes) await deletePrefix(redis, prefix);
    await redis.quit();
  });

  it('closes cleanly at every moment of its start, with no unhandled rejection', async () => {
    const unhandled: string[] = [];
    const record = (reason: unknown) => unhandled.push(String((reason as Error)?.message ?? reason));
    process.on('unhandledRejection', record);
    try {
      // Closing at once and after a few milliseconds meets the connections at each step of their start.
      for (const delayMs of [0, 0, 1, 1, 2, 3, 5, 8, 0, 1, 2, 5, 0, 1, 2, 3, 0, 1, 2, 4]) {
        const config = testConfig({ REDIS_PREFIX: `t-close-${randomUUID().slice(0, 8)}` });
        prefixes.push(config.REDIS_PREFIX);
        const api = await startApiService(config, config.REDIS_URL!, createLogger('test', 'silent'));
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        await api.close();
      }
      // A rejection escapes a tick or two after the close that caused it.
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      process.off('unhandledRejection', record);
    }
    expect(unhandled).toEqual([]);
  });
});
