import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startStack, type TestStack } from '../support/stack.ts';

const KEY_A = 'rate-key-aaaaaaaaaaaaaaaa';
const KEY_B = 'rate-key-bbbbbbbbbbbbbbbb';
const LIMIT = 5;

describe('rate limits per API key', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { API_KEYS: `${KEY_A},${KEY_B}`, RATE_LIMIT_REQUESTS: String(LIMIT), RATE_LIMIT_WINDOW_SECONDS: '60' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 429 with Retry-After past the limit, and counts down in RateLimit headers before it', async () => {
    const statuses: number[] = [];
    const remaining: Array<string | null> = [];
    for (let i = 0; i < LIMIT + 2; i += 1) {
      const response = await http(stack.baseUrl, 'GET', '/api/v1/jobs/00000000-0000-4000-8000-000000000000', undefined, { 'x-api-key': KEY_A });
      statuses.push(response.status);
      remaining.push(response.headers.get('ratelimit-remaining'));
      if (response.status === 429) {
        expect(response.body.error.code).toBe('rate_limited');
        const retryAfter = Number(response.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
      }
    }
    expect(statuses).toEqual([404, 404, 404, 404, 404, 429, 429]);
    expect(remaining.slice(0, LIMIT)).toEqual(['4', '3', '2', '1', '0']);
  });

  it('leaves another key unaffected', async () => {
    const response = await http(stack.baseUrl, 'GET', '/api/v1/jobs/00000000-0000-4000-8000-000000000000', undefined, { authorization: `Bearer ${KEY_B}` });
    expect(response.status).toBe(404);
  });

  it('counts requests with a wrong key against the client address, not against a key', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 1; i += 1) {
      const response = await http(stack.baseUrl, 'GET', '/api/v1/jobs/x', undefined, { 'x-api-key': 'guessing-0123456789abcdef', 'x-forwarded-for': '203.0.113.7' });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const keyHolder = await http(stack.baseUrl, 'GET', '/api/v1/jobs/x', undefined, { authorization: `Bearer ${KEY_B}`, 'x-forwarded-for': '203.0.113.7' });
    expect(keyHolder.status).toBe(404);
  });

  it('never limits the health probe', async () => {
    for (let i = 0; i < LIMIT + 2; i += 1) {
      expect((await http(stack.baseUrl, 'GET', '/api/health')).status).toBe(200);
    }
  });
});

describe('rate limits per client address when anonymous', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { RATE_LIMIT_REQUESTS: String(LIMIT) } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('limits each address (as the trusted proxy reports it) separately', async () => {
    const from = (ip: string) => http(stack.baseUrl, 'GET', '/api/v1/jobs/x', undefined, { 'x-forwarded-for': ip });
    const first: number[] = [];
    for (let i = 0; i < LIMIT + 1; i += 1) first.push((await from('198.51.100.1')).status);
    expect(first).toEqual([404, 404, 404, 404, 404, 429]);
    expect((await from('198.51.100.2')).status).toBe(404);
  });
});
