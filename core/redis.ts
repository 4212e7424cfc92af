import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.ts';

/**
 * Producers (the API) fail fast when Redis is away, so requests get a quick 503;
 * workers and blocking readers wait and retry forever, as BullMQ's production guide asks.
 */
export type ConnectionRole = 'producer' | 'worker';

const reconnect = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000);

export function redisOptions(role: ConnectionRole): RedisOptions {
  return role === 'producer'
    ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, retryStrategy: reconnect }
    : { maxRetriesPerRequest: null, enableOfflineQueue: true, retryStrategy: reconnect };
}

export function createRedis(url: string, role: ConnectionRole, logger?: Logger, name?: string): Redis {
  const redis = new Redis(url, { ...redisOptions(role), ...(name ? { connectionName: name } : {}) });
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) logger?.warn({ err: error.message, connection: name ?? role }, 'redis connection error');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger?.info({ connection: name ?? role }, 'redis connection restored');
    down = false;
  });
  return redis;
}

/** Waits until a connection is ready (fail-fast connections do not queue commands before that). */
export async function waitReady(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/**
 * BullMQ loses jobs when Redis evicts keys, so anything but `noeviction` stops the process.
 * Managed services that forbid CONFIG (the policy is then set in their parameter group) are trusted with a warning.
 */
export async function assertNoEviction(redis: Redis, logger: Logger): Promise<void> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch {
    logger.warn('cannot read maxmemory-policy (CONFIG is disabled); make sure it is noeviction');
    return;
  }
  if (policy !== undefined && policy !== 'noeviction') {
    throw new EvictionPolicyError(policy);
  }
}

export class EvictionPolicyError extends Error {
  constructor(readonly policy: string) {
    super(
      `Redis maxmemory-policy is "${policy}"; it must be "noeviction" or queued jobs can be lost. ` +
        'Run: redis-cli CONFIG SET maxmemory-policy noeviction (and set it in redis.conf).',
    );
    this.name = 'EvictionPolicyError';
  }
}
