import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_VIEWER } from '../../api/job-service.ts';
import { http, startStack, type TestStack } from '../support/stack.ts';

const DEPTH = 3;

describe('queue backpressure', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // No worker: every accepted job stays queued.
    stack = await startStack({ worker: false, env: { MAX_QUEUE_DEPTH: String(DEPTH), CACHE_TTL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 503 queue_full with Retry-After once MAX_QUEUE_DEPTH jobs wait', async () => {
    const accepted: string[] = [];
    for (let i = 0; i < DEPTH; i += 1) {
      const response = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: `job ${i}`, max_tokens: 4 });
      expect(response.status).toBe(202);
      accepted.push(response.body.id);
    }
    for (const path of ['/api/v1/jobs', '/api/v1/generate']) {
      const refused = await http(stack.baseUrl, 'POST', path, { prompt: 'one too many', max_tokens: 4 });
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('queue_full');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(await stack.api.deps.jobs.get(accepted[0] ?? '', SYSTEM_VIEWER)).toMatchObject({ status: 'waiting' });
  });

  it('still serves reads and cancellations, and takes submissions again once the queue has room', async () => {
    const first = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'still full', max_tokens: 4 });
    expect(first.status).toBe(503);
    const queued = await stack.api.deps.redis.zrange(`${stack.config.REDIS_PREFIX}:${stack.config.QUEUE_NAME}:prioritized`, 0, -1);
    expect(queued.length).toBe(DEPTH);
    const cancelled = await http(stack.baseUrl, 'DELETE', `/api/v1/jobs/${queued[0]}`);
    expect(cancelled.status).toBe(200);
    // The depth is re-read at most once a second: the next reading sees the room.
    let status = 503;
    const deadline = Date.now() + 10_000;
    while (status === 503 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'room again', max_tokens: 4 })).status;
    }
    expect(status).toBe(202);
    expect((await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'full again', max_tokens: 4 })).status).toBe(503);
  });
});
