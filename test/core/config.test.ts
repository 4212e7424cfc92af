import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.ts';

describe('loadConfig', () => {
  it('gives every setting its default from an empty environment', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.USE_INT8).toBe(true);
    expect(config.REDIS_PREFIX).toBe('llmo');
    // Left to the worker, which chooses them from the model (test/core/inference-plan.test.ts).
    expect(config.SEQUENCES_PER_THREAD).toBeUndefined();
    expect(config.POOL_THREADS).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', MODEL: '' }).PORT).toBe(8080);
  });

  it('parses numbers and booleans', () => {
    const config = loadConfig({ PORT: '9000', USE_INT8: 'false', POOL_THREADS: '2' });
    expect(config.PORT).toBe(9000);
    expect(config.USE_INT8).toBe(false);
    expect(config.POOL_THREADS).toBe(2);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['USE_INT8', 'maybe'],
    ['REDIS_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
    ['POOL_THREADS', '0'],
    ['REDIS_PREFIX', 'has space'],
  ])('rejects %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}:`));
  });

  it('reads sentinels as host:port pairs and a master group name', () => {
    const config = loadConfig({ REDIS_SENTINELS: 's1:26379, 10.0.0.2:26380,[::1]:26381', REDIS_SENTINEL_NAME: 'llmo' });
    expect(config.REDIS_SENTINELS).toEqual([
      { host: 's1', port: 26379 },
      { host: '10.0.0.2', port: 26380 },
      { host: '::1', port: 26381 },
    ]);
    expect(config.REDIS_SENTINEL_NAME).toBe('llmo');
  });

  it.each(['s1', 's1:0', ',', 's1:99999', 'redis://s1:26379'])('rejects REDIS_SENTINELS=%s', (value) => {
    expect(() => loadConfig({ REDIS_SENTINELS: value, REDIS_SENTINEL_NAME: 'llmo' })).toThrow(/REDIS_SENTINELS:/);
  });

  it('refuses sentinels without a master group name, and a name without sentinels', () => {
    expect(() => loadConfig({ REDIS_SENTINELS: 's1:26379' })).toThrow(/REDIS_SENTINEL_NAME: required with REDIS_SENTINELS/);
    expect(() => loadConfig({ REDIS_SENTINEL_NAME: 'llmo' })).toThrow(/REDIS_SENTINELS: required/);
  });

  it('acknowledges jobs without waiting for replicas unless told to', () => {
    expect(loadConfig({})).toMatchObject({ REDIS_MIN_REPLICAS_ACK: 0, REDIS_REPLICA_ACK_TIMEOUT_MS: 500 });
    expect(loadConfig({ REDIS_MIN_REPLICAS_ACK: '1' }).REDIS_MIN_REPLICAS_ACK).toBe(1);
    expect(() => loadConfig({ REDIS_MIN_REPLICAS_ACK: '-1' })).toThrow(/REDIS_MIN_REPLICAS_ACK:/);
    expect(() => loadConfig({ REDIS_REPLICA_ACK_TIMEOUT_MS: '0' })).toThrow(/REDIS_REPLICA_ACK_TIMEOUT_MS:/);
  });

  it('rejects a default max_tokens above the limit', () => {
    expect(() => loadConfig({ DEFAULT_MAX_TOKENS: '300', MAX_TOKENS_LIMIT: '200' })).toThrow(/DEFAULT_MAX_TOKENS/);
  });
});
