import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiKeyring, idOfKey, presentedKey } from '../../api/request-guard/api-keys.ts';
import { isOpenPath } from '../../api/request-guard/public-paths.ts';
import { ConfigError, loadConfig } from '../../core/config.ts';

const KEY_A = 'test-key-aaaaaaaaaaaaaaaa';
const KEY_B = 'test-key-bbbbbbbbbbbbbbbb';

describe('ApiKeyring', () => {
  it('accepts each configured key and reports its id, not the key', () => {
    const ring = ApiKeyring.fromSetting(`${KEY_A}, ${KEY_B}`);
    expect(ring.size).toBe(2);
    expect(ring.verify(KEY_A)?.id).toBe(idOfKey(KEY_A));
    expect(ring.verify(KEY_B)?.id).toBe(idOfKey(KEY_B));
    expect(idOfKey(KEY_A)).toMatch(/^[0-9a-f]{12}$/);
    expect(idOfKey(KEY_A)).not.toBe(idOfKey(KEY_B));
  });

  it('refuses keys that differ by one character, by case, by length or are empty', () => {
    const ring = ApiKeyring.fromSetting(KEY_A);
    for (const wrong of [`${KEY_A.slice(0, -1)}b`, KEY_A.toUpperCase(), `${KEY_A}a`, KEY_A.slice(0, -1), '', ' ']) {
      expect(ring.verify(wrong)).toBeUndefined();
    }
  });

  it('accepts a key configured only by its sha256 digest', () => {
    const digest = createHash('sha256').update(KEY_A).digest('hex').toUpperCase();
    const ring = ApiKeyring.fromSetting(`sha256:${digest}`);
    expect(ring.verify(KEY_A)?.id).toBe(idOfKey(KEY_A));
    expect(ring.verify(`sha256:${digest}`)).toBeUndefined();
  });

  it('is empty when no keys are configured', () => {
    expect(ApiKeyring.fromSetting(undefined).empty).toBe(true);
    expect(ApiKeyring.fromSetting(KEY_A).empty).toBe(false);
  });
});

describe('presentedKey', () => {
  it('reads "Authorization: Bearer" (any case of the scheme) and x-api-key', () => {
    expect(presentedKey({ authorization: `Bearer ${KEY_A}` })).toBe(KEY_A);
    expect(presentedKey({ authorization: `bearer  ${KEY_A} ` })).toBe(KEY_A);
    expect(presentedKey({ 'x-api-key': KEY_B })).toBe(KEY_B);
    expect(presentedKey({ 'x-api-key': [KEY_B, KEY_A] })).toBe(KEY_B);
  });

  it('treats other schemes, malformed bearers and empty values as no key', () => {
    expect(presentedKey({ authorization: 'Basic YWRtaW46cGFzcw==' })).toBeUndefined();
    expect(presentedKey({ authorization: 'Bearer' })).toBeUndefined();
    expect(presentedKey({ authorization: 'Bearer a b' })).toBeUndefined();
    expect(presentedKey({ 'x-api-key': '  ' })).toBeUndefined();
    expect(presentedKey({})).toBeUndefined();
  });
});

describe('API_KEYS', () => {
  it.each([['short'], ['a key with spaces in it'], [','], ['sha256:abc']])('refuses %j with a message naming the variable', (value) => {
    expect(() => loadConfig({ API_KEYS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ API_KEYS: value })).toThrow(/API_KEYS:/);
  });

  it('takes raw keys and digests, comma-separated', () => {
    const digest = 'a'.repeat(64);
    expect(loadConfig({ API_KEYS: `${KEY_A},sha256:${digest}` }).API_KEYS).toBe(`${KEY_A},sha256:${digest}`);
  });
});

describe('isOpenPath', () => {
  const closedMetrics = { METRICS_REQUIRE_KEY: true };
  const openMetrics = { METRICS_REQUIRE_KEY: false };

  it('opens probes, the API description and Bull Board (which has its own credentials)', () => {
    for (const path of ['/api/health', '/api/ready', '/API/Health/', '/api/openapi.json', '/api/docs', '/api/docs/swagger-ui.css', '/admin/queues', '/admin/queues/api/queues']) {
      expect(isOpenPath(path, closedMetrics), path).toBe(true);
    }
  });

  it('closes the API itself and unknown paths', () => {
    for (const path of ['/api/v1/jobs', '/api/v1/generate', '/v1/completions', '/v1/models', '/', '/api/healthz', '/api/docsx', '/admin/queuesx', '/admin']) {
      expect(isOpenPath(path, closedMetrics), path).toBe(false);
    }
  });

  it('opens /metrics unless METRICS_REQUIRE_KEY', () => {
    expect(isOpenPath('/metrics', openMetrics)).toBe(true);
    expect(isOpenPath('/metrics', closedMetrics)).toBe(false);
  });
});
