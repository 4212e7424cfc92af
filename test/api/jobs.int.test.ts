import { randomUUID } from 'node:crypto';
import { getLlama, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, pollUntilDone, startStack, TINY_MODEL, type TestStack } from '../support/stack.ts';

describe('submit and poll (real Redis, real model)', () => {
  let stack: TestStack;
  let vocab: LlamaModel;

  beforeAll(async () => {
    stack = await startStack();
    const llama = await getLlama({ gpu: false, build: 'never' });
    vocab = await llama.loadModel({ modelPath: TINY_MODEL, vocabOnly: true });
  });
  afterAll(async () => {
    await vocab?.dispose();
    await stack?.close();
  });

  describe('POST /api/v1/jobs', () => {
    it('answers 202 with a job id and links', async () => {
      const res = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: 8, cache: false });
      expect(res.status).toBe(202);
      expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.status).toBe('waiting');
      expect(res.body.links.self).toBe(`/api/v1/jobs/${res.body.id}`);
      expect(res.headers.get('location')).toBe(res.body.links.self);
      await pollUntilDone(stack.baseUrl, res.body.id);
    });
  });

  describe('GET /api/v1/jobs/:id', () => {
    it('reports the completed job with the model’s continuation, usage and timings', async () => {
      const prompt = 'Once upon a time';
      const created = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt, max_tokens: 40, temperature: 0 });
      const job = await pollUntilDone(stack.baseUrl, created.body.id);

      expect(job.status).toBe('completed');
      expect(job.result.finish_reason).toBe('length');
      // stories260K continues a fairy-tale opening with a story.
      expect(job.result.text).toMatch(/^, there was a little/);
      expect(job.result.model).toMatch(/^stories260K/);
      expect(job.result.cached).toBe(false);

      // Usage matches the tokenizer: the prompt as llama.cpp evaluates it (BOS + tokens), and every generated token.
      const promptTokens = vocab.tokenize(prompt, false, 'trimLeadingSpace').length + 1;
      expect(job.result.usage).toEqual({ prompt_tokens: promptTokens, completion_tokens: 40, total_tokens: promptTokens + 40 });
      expect(job.progress.tokens).toBe(40);
      expect(vocab.tokenize(job.result.text, false, 'trimLeadingSpace').length).toBeGreaterThan(30);

      const t = job.result.timings;
      for (const key of ['queued_ms', 'ttft_ms', 'generation_ms', 'tokens_per_second']) {
        expect(t[key], key).toBeTypeOf('number');
        expect(t[key], key).toBeGreaterThanOrEqual(0);
      }
      expect(t.generation_ms).toBeGreaterThanOrEqual(t.ttft_ms);
      expect(t.tokens_per_second).toBeGreaterThan(0);

      const created_at = Date.parse(job.created_at);
      expect(Date.parse(job.started_at)).toBeGreaterThanOrEqual(created_at);
      expect(Date.parse(job.finished_at)).toBeGreaterThanOrEqual(Date.parse(job.started_at));
    });

    it('stops at a stop string and says finish_reason "stop"', async () => {
      const created = await http(stack.baseUrl, 'POST', '/api/v1/jobs', {
        prompt: 'Once upon a time',
        max_tokens: 100,
        temperature: 0,
        stop: ['Lily'],
      });
      const job = await pollUntilDone(stack.baseUrl, created.body.id);
      expect(job.result.finish_reason).toBe('stop');
      // Generation ends before the token that starts the stop string (here " Lily").
      expect(job.result.text).toBe(', there was a little girl named');
    });

    it('refuses a prompt longer than the context with 400 prompt_too_long', async () => {
      const prompt = 'Once upon a time there was a dog. '.repeat(100);
      for (const path of ['/api/v1/jobs', '/api/v1/generate']) {
        const res = await http(stack.baseUrl, 'POST', path, { prompt, max_tokens: 8, cache: false });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('prompt_too_long');
      }
    });

    it('fails a job whose prompt exceeds the context in the worker at once, without retries, saying why', async () => {
      // Straight onto the queue, as a producer that skipped the API's check would: the worker is the backstop.
      const prompt = 'Once upon a time there was a dog. '.repeat(100);
      const job = await stack.api.queue.add('generate', {
        prompt,
        sampling: { max_tokens: 8, temperature: 0, top_p: 1, top_k: 40, stop: [] },
        acceptedAt: Date.now(),
      }, { jobId: randomUUID() });
      const view = await pollUntilDone(stack.baseUrl, job.id!);
      expect(view.status).toBe('failed');
      expect(view.error.code).toBe('prompt_too_long');
      expect(view.error.message).toMatch(/context holds 512 tokens/);
      expect((await stack.api.queue.getJob(job.id!))?.attemptsMade).toBe(1);
    });

    it('answers 404 for an unknown job', async () => {
      const res = await http(stack.baseUrl, 'GET', '/api/v1/jobs/00000000-0000-4000-8000-000000000000');
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
      const odd = await http(stack.baseUrl, 'GET', '/api/v1/jobs/..%2F..%2Fetc');
      expect(odd.status).toBe(404);
    });
  });
});
