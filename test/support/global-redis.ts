import type { TestProject } from 'vitest/node';
import { LocalRedis, redisAnswers } from '../../core/local-redis.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** Tests use REDIS_URL, else the Redis on 6379, else a private redis-server for the run. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.TEST_REDIS_URL) {
    project.provide('redisUrl', process.env.TEST_REDIS_URL);
    return async () => undefined;
  }
  if (await redisAnswers('127.0.0.1', 6379)) {
    project.provide('redisUrl', 'redis://127.0.0.1:6379');
    return async () => undefined;
  }
  const server = await LocalRedis.start();
  project.provide('redisUrl', server.url);
  return async () => server.stop();
}
