import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.ts';
import { describeTarget, redisTargetOf, targetOptions } from '../../core/redis-target.ts';

describe('the Redis target of a configuration', () => {
  it('is REDIS_URL alone when no sentinels are set', () => {
    expect(redisTargetOf(loadConfig({ REDIS_URL: 'redis://h:6379' }))).toBe('redis://h:6379');
    expect(redisTargetOf(loadConfig({}))).toBeUndefined();
  });

  it('asks the sentinels for the primary, with password, database and TLS from REDIS_URL', () => {
    const target = redisTargetOf(
      loadConfig({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'llmo', REDIS_URL: 'rediss://app:p%40ss@ignored:6379/2' }),
    );
    const { url, options } = targetOptions(target!);
    expect(url).toBeUndefined();
    expect(options).toMatchObject({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'llmo',
      failoverDetector: true,
      username: 'app',
      password: 'p@ss',
      db: 2,
      tls: {},
    });
    expect(describeTarget(target!)).toBe('sentinel master "llmo" via s1:26379,s2:26379');
  });

  it('never shows a password in its description', () => {
    expect(describeTarget('redis://:secret@h:6379')).not.toContain('secret');
  });
});
