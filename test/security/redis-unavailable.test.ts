import { Redis, ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../core/local-redis.ts';
import { isRedisUnavailableError, redisOptions } from '../../core/redis.ts';

/** The error a real fail-fast (producer) connection gives when nothing listens on its port. */
async function errorOfUnreachableRedis(): Promise<unknown> {
  const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, { ...redisOptions('producer'), lazyConnect: false });
  redis.on('error', () => undefined);
  try {
    await redis.get('anything');
    return undefined;
  } catch (error) {
    return error;
  } finally {
    redis.disconnect();
  }
}

describe('isRedisUnavailableError', () => {
  it('recognises what a fail-fast connection throws while Redis is down', async () => {
    const error = await errorOfUnreachableRedis();
    expect(error).toBeInstanceOf(Error);
    expect(isRedisUnavailableError(error)).toBe(true);
  });

  it.each([
    'LOADING Redis is loading the dataset in memory',
    "OOM command not allowed when used memory > 'maxmemory'.",
    "READONLY You can't write against a read only replica.",
    'NOAUTH Authentication required.',
  ])('recognises the reply %j', (reply) => {
    expect(isRedisUnavailableError(new ReplyError(reply))).toBe(true);
  });

  it('leaves other errors to be answered as they are', () => {
    expect(isRedisUnavailableError(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
    expect(isRedisUnavailableError(new Error('Missing lock for job 1. moveToFinished'))).toBe(false);
    expect(isRedisUnavailableError(new TypeError('x is undefined'))).toBe(false);
    expect(isRedisUnavailableError('Connection is closed.')).toBe(false);
  });
});
