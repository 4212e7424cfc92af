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

  it('rejects a default max_tokens above the limit', () => {
    expect(() => loadConfig({ DEFAULT_MAX_TOKENS: '300', MAX_TOKENS_LIMIT: '200' })).toThrow(/DEFAULT_MAX_TOKENS/);
  });
});
