import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeVector } from '../../core/contract/embedding-vectors.ts';
import { http, pollUntilDone, startStack, type TestStack } from '../support/stack.ts';

/** A text far longer than stories260K's 512-token context, well under MAX_PROMPT_CHARS. */
const TOO_LONG = 'the cat sat on the mat. '.repeat(200);

describe('POST /api/v1/embeddings', () => {
  let stack: TestStack;
  const jobCount = async () => Object.values(await stack.api.queue.getJobCounts()).reduce((a, b) => a + b, 0);
  const embed = (body: Record<string, unknown>) => http(stack.baseUrl, 'POST', '/api/v1/embeddings', body);

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 200 with a vector per input, in order, as numbers', async () => {
    const res = await embed({ input: ['Ben had a kite.', 'The kite was red.'], cache: false });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), model: stack.api.deps.modelId, dimensions: 64, cached: false });
    expect(res.body.embeddings).toHaveLength(2);
    for (const vector of res.body.embeddings) expect(vector).toHaveLength(64);
    expect(res.body.usage.prompt_tokens).toBeGreaterThan(6);
    expect(res.body.usage).toMatchObject({ completion_tokens: 0, total_tokens: res.body.usage.prompt_tokens });
    expect(res.body.timings.generation_ms).toBeGreaterThanOrEqual(0);
  });

  it('shows the job like any other, its vectors as stored (base64), and base64 on request', async () => {
    const input = 'Mia saw a big fish.';
    const floats = await embed({ input });
    const job = await http(stack.baseUrl, 'GET', `/api/v1/jobs/${floats.body.id}`);
    expect(job.body).toMatchObject({ status: 'completed', result: { text: '', finish_reason: 'stop', dimensions: 64 } });
    expect(job.body.result.embeddings.map(decodeVector)).toEqual(floats.body.embeddings);
    const base64 = await embed({ input, encoding_format: 'base64', cache: false });
    expect(base64.body.embeddings).toEqual(job.body.result.embeddings);
  });

  it('answers the same input from the cache, without a job; a generation of the same text is another entry', async () => {
    const input = 'A frog sat on a log.';
    const first = await embed({ input });
    expect(first.body.cached).toBe(false);
    const jobs = await jobCount();
    const again = await embed({ input });
    expect(again.body).toMatchObject({ id: expect.stringMatching(/^c-[0-9a-f]{64}$/), cached: true, embeddings: first.body.embeddings });
    expect(await jobCount()).toBe(jobs);

    const generated = await http(stack.baseUrl, 'POST', '/api/v1/generate', { prompt: input, max_tokens: 4, temperature: 0 });
    expect(generated.body.cached).toBe(false);
    const generatedAgain = await http(stack.baseUrl, 'POST', '/api/v1/generate', { prompt: input, max_tokens: 4, temperature: 0 });
    expect(generatedAgain.body).toMatchObject({ cached: true, text: generated.body.text });
    expect(generatedAgain.body.embeddings).toBeUndefined();
  });

  it('answers 202 with the job to poll when the wait times out, and the job completes with the vectors', async () => {
    const res = await embed({ input: 'The moon was bright.', timeout_ms: 0, cache: false });
    expect(res.status).toBe(202);
    expect(res.body.links.self).toBe(`/api/v1/jobs/${res.body.id}`);
    const job = await pollUntilDone(stack.baseUrl, res.body.id);
    expect(job.status).toBe('completed');
    expect(job.result.embeddings).toHaveLength(1);
  });

  it('refuses an input longer than the context before queuing a job', async () => {
    const jobs = await jobCount();
    const res = await embed({ input: ['Short.', TOO_LONG] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('prompt_too_long');
    expect(res.body.error.message).toMatch(/^input\[1\] is \d+ tokens; an embedding input must be shorter than the context \(512 tokens\)$/);
    expect(await jobCount()).toBe(jobs);
  });

  it('refuses what is not texts: nothing, an empty text, token ids, unknown fields', async () => {
    for (const body of [{}, { input: '' }, { input: [] }, { input: [1, 2] }, { input: 'Hi', dimensions: 64 }]) {
      const res = await embed(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(['invalid_request', 'unknown_field'], JSON.stringify(body)).toContain(res.body.error.code);
    }
  });
});
