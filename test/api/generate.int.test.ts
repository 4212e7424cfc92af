import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, pollUntilDone, startStack, type TestStack } from '../support/stack.ts';

describe('POST /api/v1/generate and the result cache', () => {
  let stack: TestStack;
  const jobCount = async () => {
    const counts = await stack.api.queue.getJobCounts();
    return Object.values(counts).reduce((a, b) => a + b, 0);
  };

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 200 with the result, the same text for the same deterministic request', async () => {
    const body = { prompt: 'The little dog', max_tokens: 24, temperature: 0, cache: false };
    const first = await http(stack.baseUrl, 'POST', '/api/v1/generate', body);
    const second = await http(stack.baseUrl, 'POST', '/api/v1/generate', body);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(first.body.text.length).toBeGreaterThan(20);
    expect(second.body.text).toBe(first.body.text);
    expect(second.body.id).not.toBe(first.body.id);
    expect(first.body.usage.completion_tokens).toBe(24);
  });

  it('answers the same fixed-seed sampled request with the same text', async () => {
    const body = { prompt: 'One day', max_tokens: 24, temperature: 0.9, seed: 42, cache: false };
    const first = await http(stack.baseUrl, 'POST', '/api/v1/generate', body);
    const second = await http(stack.baseUrl, 'POST', '/api/v1/generate', body);
    expect(second.body.text).toBe(first.body.text);
  });

  it('answers 202 with the job to poll when the wait times out, and the job completes later', async () => {
    const res = await http(stack.baseUrl, 'POST', '/api/v1/generate', {
      prompt: 'Once upon a time',
      max_tokens: 400,
      cache: false,
      timeout_ms: 0,
    });
    expect(res.status).toBe(202);
    expect(res.body.links.self).toBe(`/api/v1/jobs/${res.body.id}`);
    const job = await pollUntilDone(stack.baseUrl, res.body.id);
    expect(job.status).toBe('completed');
    expect(job.result.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('serves the second identical deterministic request from the cache, without a job', async () => {
    const body = { prompt: 'Tom and Sue went', max_tokens: 16, temperature: 0 };
    const first = await http(stack.baseUrl, 'POST', '/api/v1/generate', body);
    expect(first.body.cached).toBe(false);
    const before = await jobCount();
    const second = await http(stack.baseUrl, 'POST', '/api/v1/generate', body);
    expect(second.status).toBe(200);
    expect(second.body.cached).toBe(true);
    expect(second.body.text).toBe(first.body.text);
    expect(await jobCount()).toBe(before);

    // A hit through the submit endpoint is completed at once and pollable by its id.
    const submitted = await http(stack.baseUrl, 'POST', '/api/v1/jobs', body);
    expect(submitted.status).toBe(200);
    expect(submitted.body.status).toBe('completed');
    const polled = await http(stack.baseUrl, 'GET', submitted.body.links.self);
    expect(polled.body.result.text).toBe(first.body.text);
    expect(await jobCount()).toBe(before);
  });

  it('runs a new job for `cache: false`, and never caches sampled requests', async () => {
    const body = { prompt: 'Tom and Sue went', max_tokens: 16, temperature: 0 };
    await http(stack.baseUrl, 'POST', '/api/v1/generate', body);
    const before = await jobCount();
    const bypass = await http(stack.baseUrl, 'POST', '/api/v1/generate', { ...body, cache: false });
    expect(bypass.body.cached).toBe(false);
    expect(await jobCount()).toBe(before + 1);

    const sampled = { prompt: 'Tom and Sue went', max_tokens: 16, temperature: 0.7 };
    await http(stack.baseUrl, 'POST', '/api/v1/generate', sampled);
    const again = await http(stack.baseUrl, 'POST', '/api/v1/generate', sampled);
    expect(again.body.cached).toBe(false);
    expect(await jobCount()).toBe(before + 3);
  });

  it('shares one job between identical deterministic requests in flight', async () => {
    const body = { prompt: 'The sun was shining and', max_tokens: 300, temperature: 0 };
    const [a, b, c] = await Promise.all([
      http(stack.baseUrl, 'POST', '/api/v1/jobs', body),
      http(stack.baseUrl, 'POST', '/api/v1/jobs', body),
      http(stack.baseUrl, 'POST', '/api/v1/jobs', body),
    ]);
    expect(a!.status).toBe(202);
    expect(new Set([a!.body.id, b!.body.id, c!.body.id]).size).toBe(1);
    const job = await pollUntilDone(stack.baseUrl, a!.body.id);
    expect(job.status).toBe('completed');
  });
});
